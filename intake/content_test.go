package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// intakeEnv is a watch folder "drop" beside a folder "outside", a
// configuration with one rule for every file, and an Intake with a real state
// database and spool.
type intakeEnv struct {
	drop, outside string
	s             *Intake
}

func newIntakeEnv(t *testing.T, followLinks bool) *intakeEnv {
	t.Helper()
	dir := t.TempDir()
	e := &intakeEnv{drop: filepath.Join(dir, "drop"), outside: filepath.Join(dir, "outside")}
	for _, d := range []string{e.drop, e.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	yaml := "mapbox: {username: acme}\nstate: {path: state.db}\nwatch:\n  - path: drop\n"
	if followLinks {
		yaml += "    follow_links: true\n"
	}
	yaml += "rules:\n  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n"
	cfg, err := config.Parse(strings.NewReader(yaml), filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if e.s, err = New(Options{Config: cfg, Store: statetest.Open(t, state.Options{}), SpoolDir: spool}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *intakeEnv) write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *intakeEnv) link(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, filepath.Join(e.drop, name)); err != nil {
		t.Fatal(err)
	}
}

func (e *intakeEnv) spoolFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(e.s.spool)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

// TestIntakeIgnoresLinksLeavingTheFolder: the daemon's intake, told of a
// link to a file outside, records it as ignored and queues nothing; with
// follow_links it queues it. A link inside is queued either way.
func TestIntakeIgnoresLinksLeavingTheFolder(t *testing.T) {
	for _, follow := range []bool{false, true} {
		e := newIntakeEnv(t, follow)
		e.write(t, e.outside, "secret.geojson", `{"secret":1}`)
		e.write(t, e.drop, "in.geojson", `{}`)
		e.link(t, filepath.Join(e.outside, "secret.geojson"), "out.geojson")
		e.link(t, "in.geojson", "inlink.geojson")
		for _, rel := range []string{"out.geojson", "inlink.geojson"} {
			if err := e.s.Ingest(t.Context(), watcher.Event{Kind: watcher.Ready, Root: e.drop, Rel: rel}); err != nil {
				t.Fatalf("follow=%v: Ingest %s: %v", follow, rel, err)
			}
		}
		jobs, err := e.s.store.ListJobs(state.JobFilter{})
		if err != nil {
			t.Fatal(err)
		}
		queued := map[string]bool{}
		for _, j := range jobs {
			queued[j.Source.Path] = true
		}
		if queued["out.geojson"] != follow || !queued["inlink.geojson"] {
			t.Errorf("follow_links=%v: queued %v; want out.geojson %v, inlink.geojson true", follow, queued, follow)
		}
	}
}

// TestContentRefusesLinksLeavingTheFolder: even if a link outside is
// decided on before it was made (a link swapped in after the check), the
// bytes read come only from inside the folder: a file or a shapefile part
// that leads outside is refused when opened.
func TestContentRefusesLinksLeavingTheFolder(t *testing.T) {
	e := newIntakeEnv(t, false)
	e.write(t, e.outside, "secret.geojson", `{"secret":1}`)
	e.write(t, e.outside, "roads.dbf", "outside dbf")
	e.link(t, filepath.Join(e.outside, "secret.geojson"), "out.geojson")
	for _, n := range []string{"roads.shp", "roads.shx"} {
		e.write(t, e.drop, n, n)
	}
	e.link(t, "../outside/roads.dbf", "roads.dbf")
	for _, rel := range []string{"out.geojson", "roads.shp"} {
		_, _, _, err := e.s.content(t.Context(), filepath.Join(e.drop, rel))
		if !errors.Is(err, watcher.ErrLinkLeaves) {
			t.Errorf("content(%s) = %v, want ErrLinkLeaves", rel, err)
		}
	}
	if left := e.spoolFiles(t); len(left) != 0 {
		t.Errorf("spool holds %v after a refused zip", left)
	}
}

// TestZipRefusesHugeSidecar: a 1 TB .qix (sparse) grown beside a shapefile
// after it was decided on is refused before anything is written to the spool.
func TestZipRefusesHugeSidecar(t *testing.T) {
	e := newIntakeEnv(t, false)
	for _, n := range []string{"roads.shp", "roads.shx", "roads.dbf"} {
		e.write(t, e.drop, n, n)
	}
	qix := e.write(t, e.drop, "roads.qix", "")
	if err := os.Truncate(qix, 1_000_000_000_000); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, _, err := e.s.content(t.Context(), filepath.Join(e.drop, "roads.shp"))
	if err == nil || !strings.Contains(err.Error(), "roads.qix is 1000.0 GB") {
		t.Errorf("content = %v, want a refusal naming roads.qix and its size", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %v: the .qix was read", d)
	}
	if left := e.spoolFiles(t); len(left) != 0 {
		t.Errorf("spool holds %v after a refused zip", left)
	}
}

// TestSpoolRoom: the spool's free space is checked against the bytes a zip
// needs plus a margin, and the refusal names the file and both sizes.
func TestSpoolRoom(t *testing.T) {
	dir := t.TempDir()
	if err := checkSpoolRoom(dir, "/drop/roads.shp", 1000); err != nil {
		t.Errorf("checkSpoolRoom(1000 bytes) = %v", err)
	}
	err := checkSpoolRoom(dir, "/drop/roads.shp", 1<<62)
	if err == nil || !strings.Contains(err.Error(), "/drop/roads.shp") || !strings.Contains(err.Error(), "free") {
		t.Errorf("checkSpoolRoom(4 EiB) = %v, want a refusal naming the file and the sizes", err)
	}
}

// TestZipHonoursCancellation: zipping a large shapefile stops promptly when
// its context is cancelled, and leaves nothing in the spool.
func TestZipHonoursCancellation(t *testing.T) {
	e := newIntakeEnv(t, false)
	for _, n := range []string{"roads.shx", "roads.dbf"} {
		e.write(t, e.drop, n, n)
	}
	shp := e.write(t, e.drop, "roads.shp", "")
	if err := os.Truncate(shp, 250_000_000); err != nil { // sparse, within the limit
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, _, err := e.s.content(ctx, shp)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("content = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("content returned %v after the cancellation", d)
	}
	if left := e.spoolFiles(t); len(left) != 0 {
		t.Errorf("spool holds %v after a cancelled zip", left)
	}
}
