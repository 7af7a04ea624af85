package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/config"
)

// linkTree builds a watch folder "drop" beside a folder "outside", with
// real symbolic links: to a file inside (relative and absolute), to a file
// outside, to a folder outside, and a shapefile whose .dbf links outside.
func linkTree(t *testing.T, followLinks bool) *config.Config {
	t.Helper()
	dir := t.TempDir()
	drop, outside := filepath.Join(dir, "drop"), filepath.Join(dir, "outside")
	for _, d := range []string{drop, outside, filepath.Join(outside, "dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, content := range map[string]string{
		filepath.Join(drop, "in.geojson"):           "{}",
		filepath.Join(drop, "roads.shp"):            "shp",
		filepath.Join(drop, "roads.shx"):            "shx",
		filepath.Join(outside, "secret.geojson"):    "{}",
		filepath.Join(outside, "dir", "x.geojson"):  "{}",
		filepath.Join(outside, "roads.dbf"):         "dbf",
		filepath.Join(outside, "unrelated.geojson"): "{}",
	} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"inlink.geojson":  "in.geojson",
		"abslink.geojson": filepath.Join(drop, "in.geojson"),
		"out.geojson":     "../outside/secret.geojson",
		"absout.geojson":  filepath.Join(outside, "secret.geojson"),
		"outdir":          "../outside/dir",
		"roads.dbf":       "../outside/roads.dbf",
	} {
		if err := os.Symlink(target, filepath.Join(drop, link)); err != nil {
			t.Fatal(err)
		}
	}
	yaml := "mapbox: {username: acme}\nstate: {path: state.db}\nwatch:\n  - path: drop\n"
	if followLinks {
		yaml += "    follow_links: true\n"
	}
	yaml += "rules:\n  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n"
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func decisions(t *testing.T, cfg *config.Config) map[string]Decision {
	t.Helper()
	ds, err := Walk(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Decision{}
	for _, d := range ds {
		got[d.Path] = d
	}
	return got
}

// TestLinksLeavingTheWatchFolder: by default a link whose target is outside
// its watch folder is not followed, and a shapefile whose part is such a link
// is not uploaded; links that stay inside are followed.
func TestLinksLeavingTheWatchFolder(t *testing.T) {
	got := decisions(t, linkTree(t, false))
	for _, tt := range []struct {
		path   string
		action Action
		reason string
	}{
		{"in.geojson", Upload, ""},
		{"inlink.geojson", Upload, ""},
		{"abslink.geojson", Upload, ""},
		{"out.geojson", Ignored, "link leaves the watch folder"},
		{"absout.geojson", Ignored, "link leaves the watch folder"},
		{"outdir", Ignored, "link leaves the watch folder"},
		{"roads.dbf", Ignored, "link leaves the watch folder"},
		{"roads.shp", Refused, "roads.dbf: link leaves the watch folder"},
	} {
		d, ok := got[tt.path]
		if !ok || d.Action != tt.action || !strings.Contains(d.Reason, tt.reason) {
			t.Errorf("%s: %s: %q; want %s: %q", tt.path, d.Action, d.Reason, tt.action, tt.reason)
		}
	}
	if d, ok := got["outdir/x.geojson"]; ok {
		t.Errorf("the walk entered a linked folder outside: %+v", d)
	}
}

// TestFollowLinksOptIn: follow_links: true follows links to files outside.
func TestFollowLinksOptIn(t *testing.T) {
	got := decisions(t, linkTree(t, true))
	for _, p := range []string{"in.geojson", "inlink.geojson", "out.geojson", "absout.geojson", "roads.shp"} {
		if d := got[p]; d.Action != Upload {
			t.Errorf("%s: %s: %q; want upload", p, d.Action, d.Reason)
		}
	}
	if d := got["roads.dbf"]; d.Action != Skip {
		t.Errorf("roads.dbf: %s: %q; want skip (part of shapefile)", d.Action, d.Reason)
	}
	// Folders are never followed, inside or out: a link loop cannot hang a walk.
	if d := got["outdir"]; d.Action != Ignored {
		t.Errorf("outdir: %s: %q; want ignored", d.Action, d.Reason)
	}
}

// TestShapefileSidecarsCount: a 1 TB .qix (sparse: it costs no disk) beside
// a small shapefile is refused, named, instead of zipped into the spool.
func TestShapefileSidecarsCount(t *testing.T) {
	cfg := linkTree(t, false)
	drop := cfg.Watch[0].Path
	for _, n := range []string{"big.shp", "big.shx", "big.dbf"} {
		if err := os.WriteFile(filepath.Join(drop, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(drop, "big.qix"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(drop, "big.qix"), 1_000_000_000_000); err != nil {
		t.Fatal(err)
	}
	d := decisions(t, cfg)["big.shp"]
	if d.Action != Refused || !strings.Contains(d.Reason, "big.qix is 1000.0 GB") {
		t.Errorf("big.shp: %s: %q; want refused naming big.qix", d.Action, d.Reason)
	}
}
