package plan

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

// TestMTSShapefileSizeRule: a zipped shapefile over the Uploads API's
// 260 MB is refused for the Uploads API and planned for MTS, which
// converts it (only the converted source has a limit there).
func TestMTSShapefileSizeRule(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"up", "mts"} {
		if err := os.MkdirAll(filepath.Join(dir, "drop", d), 0o755); err != nil {
			t.Fatal(err)
		}
		writeBigZip(t, filepath.Join(dir, "drop", d, "roads.zip"))
	}
	files := map[string]string{
		"config.yaml": "mapbox: {username: acme}\nstate: {path: state.db}\nwatch: [{path: drop}]\nrules:\n" +
			"  - {match: \"up/*.zip\", tileset: \"{username}.up-{stem}\"}\n" +
			"  - {match: \"mts/*.zip\", target: mts, tileset: \"{username}.mts-{stem}\", recipe: r.json}\n",
		"r.json": `{"version": 1, "layers": {"l": {"source": "{source}", "minzoom": 0, "maxzoom": 5}}}`,
	}
	ds := walkFiles(t, dir, files, 2)
	for _, d := range ds {
		switch filepath.Dir(d.Path) {
		case "up":
			if d.Action != Refused || !strings.Contains(d.Reason, "260 MB") {
				t.Errorf("uploads: %s %s, want refused over 260 MB", d.Action, d.Reason)
			}
		case "mts":
			if d.Action != Upload || d.Target != config.TargetMTS {
				t.Errorf("mts: %s %s (target %q), want it planned for MTS", d.Action, d.Reason, d.Target)
			}
		}
	}
}

// writeBigZip writes a zip whose central directory says its .shp and .dbf
// are 150 MB each uncompressed (only the directory is read by the plan).
func writeBigZip(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, n := range []string{"roads.shp", "roads.shx", "roads.dbf"} {
		size := uint64(1000)
		if n != "roads.shx" {
			size = 150_000_000
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: n, Method: zip.Store, UncompressedSize64: size, CompressedSize64: 1})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte{0})
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// walkFiles writes files (name → text) into dir, loads dir/config.yaml and
// returns the plan's decisions, failing unless there are want of them.
func walkFiles(t *testing.T, dir string, files map[string]string, want int) []Decision {
	t.Helper()
	testkit.WriteFiles(t, dir, files)
	cfg, err := config.Load(filepath.Join(dir, "config.yaml"), config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Walk(cfg)
	if err != nil || len(ds) != want {
		t.Fatalf("%d decisions, want %d; %v", len(ds), want, err)
	}
	return ds
}
