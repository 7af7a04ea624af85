package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMTSLayersRefusedOnSharedFolder: a rule that makes several files feed
// one MTS tileset (a layer each) is refused for a shared folder's files,
// saying why and what to do (two nodes could publish the tileset at
// once), and planned as usual for a folder not marked shared.
func TestMTSLayersRefusedOnSharedFolder(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"shared", "local"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "parks.geojson"), []byte(`{"type":"FeatureCollection","features":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"config.yaml": "mapbox: {username: acme}\nstate: {path: state.db}\n" +
			"fleet: {redis: \"redis://127.0.0.1:6379/0\", node: n1, group: acme}\n" +
			"watch: [{path: shared, shared: true}, {path: local}]\nrules:\n" +
			"  - {match: \"*.geojson\", target: mts, tileset: \"{username}.city\", recipe: r.json, layer: \"{stem}\"}\n",
		"r.json": `{"version": 1, "layers": {"{layer}": {"source": "{source}", "minzoom": 0, "maxzoom": 5}}}`,
	}
	ds := walkFiles(t, dir, files, 2)
	for _, d := range ds {
		shared := filepath.Base(d.Watch) == "shared"
		switch {
		case shared && (d.Action != Refused || !strings.Contains(d.Reason, "acme.city") || !strings.Contains(d.Reason, "not marked shared")):
			t.Errorf("shared folder: %s %q, want refused, naming the tileset and what to do", d.Action, d.Reason)
		case !shared && d.Action != Upload:
			t.Errorf("local folder: %s %q, want planned", d.Action, d.Reason)
		}
	}
}
