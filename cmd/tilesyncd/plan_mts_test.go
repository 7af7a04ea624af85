package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plan shows an MTS rule's files as publish, with the tileset source, the
// recipe and what converting them gives, or refused with the reason.
func TestPlanMTS(t *testing.T) {
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	write := func(rel, text string) { writeUnder(t, dir, rel, text) }
	write("tilesyncd.yaml", `mapbox:
  username: acme
state:
  path: state/state.db
watch:
  - path: drop
rules:
  - match: "*"
    target: mts
    tileset: "{username}.{stem}"
    source: "{stem}-src"
    recipe: r.json
`)
	write("r.json", `{"version": 1, "layers": {"points": {"source": "{source}", "minzoom": 0, "maxzoom": 8}}}`)
	write("drop/good.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"tags":["a"]}},
{"type":"Feature","geometry":null,"properties":{}}]}`)
	write("drop/bad.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1]}}]}`)
	write("drop/tiles.mbtiles", "SQLite format 3\x00")
	code, out, errOut := runCLI(t, "plan", "--config", filepath.Join(dir, "tilesyncd.yaml"), "--json")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	got := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		got[d["path"].(string)] = d
	}
	good := got["good.geojson"]
	conv, _ := good["conversion"].(map[string]any)
	if good["action"] != "publish" || good["target"] != "mts" || good["source_id"] != "good-src" || good["recipe"] != "r.json" ||
		conv["features"] != 1.0 || conv["skipped_no_geometry"] != 1.0 || conv["nested"] == nil {
		t.Errorf("good.geojson: %v", good)
	}
	if bad := got["bad.geojson"]; bad["action"] != "refused" || !strings.HasPrefix(bad["reason"].(string), "cannot be converted for MTS: ") {
		t.Errorf("bad.geojson: %v", bad)
	}
	if mb := got["tiles.mbtiles"]; mb["action"] != "refused" || !strings.Contains(mb["reason"].(string), "not an MTS vector source") {
		t.Errorf("tiles.mbtiles: %v", mb)
	}
	code, out, _ = runCLI(t, "plan", "--config", filepath.Join(dir, "tilesyncd.yaml"))
	if code != 0 || !strings.Contains(out, "publish   good.geojson → acme.good \"good\" source good-src, recipe r.json: GeoJSON, 1 features") ||
		!strings.Contains(out, "1 dropped (no geometry), nested properties MTS drops: tags") {
		t.Errorf("plan:\n%s", out)
	}
	if _, err := os.Stat(drop); err != nil {
		t.Fatal(err)
	}
}

// writeUnder writes text to the file rel (slash-separated) below dir,
// making its folders.
func writeUnder(t *testing.T, dir, rel, text string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
