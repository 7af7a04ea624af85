package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// newMTSIntake is an Intake whose one rule sends every file of "drop" to
// MTS, with a real state database and spool; "outside" is beside drop.
func newMTSIntake(t *testing.T) (in *Intake, drop, outside string) {
	return newRulesIntake(t, "  - match: \"**\"\n    target: mts\n    tileset: \"{username}.{stem}\"\n    recipe: r.json\n")
}

// newRulesIntake is an Intake with rules (YAML list items) on the folder
// "drop", a real state database and spool; "outside" is beside drop, and
// r.json a recipe the rules may name.
func newRulesIntake(t *testing.T, rules string) (in *Intake, drop, outside string) {
	t.Helper()
	dir := t.TempDir()
	drop, outside = filepath.Join(dir, "drop"), filepath.Join(dir, "outside")
	for _, d := range []string{drop, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"config.yaml": "mapbox: {username: acme}\nstate: {path: state.db}\nwatch:\n  - path: drop\nrules:\n" + rules,
		"r.json":      `{"version": 1, "layers": {"l": {"source": "{source}", "minzoom": 0, "maxzoom": 5}}}`,
	}
	testkit.WriteFiles(t, dir, files)
	cfg, err := config.Load(filepath.Join(dir, "config.yaml"), config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err = New(Options{Config: cfg, Store: statetest.Open(t, state.Options{}), SpoolDir: filepath.Join(dir, "spool")})
	if err != nil {
		t.Fatal(err)
	}
	return in, drop, outside
}

const point = `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"a":1}}`

// A file of an MTS rule is converted into the spool under its content
// hash (converted bytes and recipe), and its job says where it goes; the
// converted file is made again when it is gone.
func TestMTSIngest(t *testing.T) {
	in, drop, _ := newMTSIntake(t)
	ctx := context.Background()
	if err := os.WriteFile(filepath.Join(drop, "p.geojson"), []byte(`{"type":"FeatureCollection","features":[`+point+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := in.Ingest(ctx, watcher.Event{Kind: watcher.Ready, Root: drop, Rel: "p.geojson"}); err != nil {
		t.Fatal(err)
	}
	jobs, _ := in.store.ListJobs(state.JobFilter{})
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	j := jobs[0]
	if j.Target != state.TargetMTS || j.SourceID != "p" || !strings.Contains(string(j.Recipe), "mapbox://tileset-source/acme/p") {
		t.Errorf("job %+v", j)
	}
	spooled := filepath.Join(in.spool, j.SHA256+mtsSpoolExt)
	data, err := os.ReadFile(spooled)
	if err != nil {
		t.Fatal(err)
	}
	if got := state.MTSContentHash(sha256hex(data), j.Recipe); got != j.SHA256 || int64(len(data)) != j.Size {
		t.Errorf("spool file %q: hash %s, size %d; job %s, %d", data, got, len(data), j.SHA256, j.Size)
	}
	os.Remove(spooled)
	if p, err := in.SendPath(ctx, j); err != nil || p != spooled {
		t.Errorf("SendPath with the spool file gone: %q, %v; want it made again at %s", p, err, spooled)
	}
	in.CleanSpool()
	if _, err := os.Stat(spooled); err != nil {
		t.Errorf("CleanSpool removed the file a job needs: %v", err)
	}
	// The file changed since intake read it (intake has not read it
	// again yet): what the job sends is what the file gives now, not the
	// spool file, so that the sender finds it changed.
	changed := strings.Replace(point, "[1,2]", "[3,4]", 1) + "\n"
	os.WriteFile(filepath.Join(drop, "p.geojson"), []byte(changed), 0o644)
	if p, err := in.SendPath(ctx, j); err != nil || p == spooled {
		t.Errorf("SendPath of a changed file: %q, %v; want its new conversion", p, err)
	}
	// Changed into what MTS cannot take: the job's content is gone.
	os.WriteFile(filepath.Join(drop, "p.geojson"), []byte(`{"type":"FeatureCollection","features":[]}`), 0o644)
	if _, err := in.SendPath(ctx, j); !errors.Is(err, state.ErrContentChanged) {
		t.Errorf("SendPath of a file changed to no features: %v, want ErrContentChanged", err)
	}
}

// The conversion opens the file through its watch folder: a link out of
// it is not followed, whatever the rule.
func TestMTSLinkLeaves(t *testing.T) {
	in, drop, outside := newMTSIntake(t)
	secret := filepath.Join(outside, "secret.geojson")
	if err := os.WriteFile(secret, []byte(point), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(drop, "s.geojson")); err != nil {
		t.Fatal(err)
	}
	_, _, err := in.mtsContent(context.Background(), filepath.Join(drop, "s.geojson"), []byte(`{}`))
	if !errors.Is(err, watcher.ErrLinkLeaves) {
		t.Errorf("converting a link out of the folder: %v, want ErrLinkLeaves", err)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Path, "/dev/fd") {
		t.Errorf("the error names the descriptor, not the file: %v", err)
	}
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// The Uploads API's shapefile limit (260 MB for the .shp and .dbf) does
// not bind a shapefile an MTS rule sends: it is converted, and only the
// converted source is held to MTS's limit.
func TestMTSShapefileOverUploadsLimit(t *testing.T) {
	in, drop, _ := newMTSIntake(t)
	for _, ext := range []string{".shp", ".shx", ".dbf", ".prj", ".cpg"} {
		data, err := os.ReadFile(filepath.Join("..", "convert", "testdata", "poly_2154"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(drop, "polys"+ext), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Past the records the header counts, sparse: read by nobody.
	if err := os.Truncate(filepath.Join(drop, "polys.dbf"), 300_000_000); err != nil {
		t.Fatal(err)
	}
	if err := in.Ingest(t.Context(), watcher.Event{Kind: watcher.Ready, Root: drop, Rel: "polys.shp"}); err != nil {
		t.Fatal(err)
	}
	jobs, _ := in.store.ListJobs(state.JobFilter{})
	if len(jobs) != 1 {
		rec, _, _ := in.store.File(state.FileKey{Watch: drop, Path: "polys.shp"})
		t.Fatalf("%d jobs; the file's record: %+v", len(jobs), rec)
	}
}
