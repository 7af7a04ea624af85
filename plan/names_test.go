package plan

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tilesyncd/tilesyncd/config"
)

// TestNonLatinNamesDoNotConflict: files named in Cyrillic, Greek, Japanese or
// with emoji each get a tileset of their own, readable where the script can
// be transliterated, instead of all sharing what their digits spell.
func TestNonLatinNamesDoNotConflict(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "drop")
	want := map[string]string{
		"дороги-2024.geojson": "acme.dorogi-2024",
		"реки-2024.geojson":   "acme.reki-2024",
		"Οδοί 2024.geojson":   "acme.odoi-2024",
		"東京 2024.geojson":     "acme.2024-c0e29f0a",
		"大阪 2024.geojson":     "acme.2024-d7aac428",
		"2024 🚗.geojson":      "", // 2024- and a hash: checked only for being its own
		"2024 🚲.geojson":      "",
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if err := os.WriteFile(filepath.Join(root, name), []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("mapbox: {username: acme}\nstate: {path: state.db}\nwatch: [{path: drop}]\nrules: [{match: \"*.geojson\"}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Walk(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(want) {
		t.Fatalf("%d decisions, want %d: %+v", len(ds), len(want), ds)
	}
	for _, d := range ds {
		if d.Action != Upload {
			t.Errorf("%s: %s (%s), want upload", d.Path, d.Action, d.Reason)
		}
		if w := want[d.Path]; w != "" && d.Tileset != w {
			t.Errorf("%s: tileset %q, want %q", d.Path, d.Tileset, w)
		}
	}
}
