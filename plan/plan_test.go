package plan

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// makeTree builds the golden test's watch folder: nested folders, odd names,
// temporary files, an oversized (sparse) file, shapefiles complete and not,
// and two files mapping to one tileset.
func makeTree(t *testing.T, root string) {
	t.Helper()
	files := map[string]string{
		"roads.geojson":                                        `{"type":"FeatureCollection","features":[]}`,
		"north/Roads 2024.geojson":                             `{}`,
		"north/deep/er/nested.kml":                             "<kml/>",
		"Zürich Straßen.GEOJSON":                               `{}`,
		"São Paulo/zonas.v2.csv":                               "lat,lon\n1,2\n",
		"a very long file name that keeps going and going.gpx": "<gpx/>",
		"dots.in.the.name.geojson":                             `{}`,
		"notes.txt":                                            "not geodata",
		"empty.kml":                                            "",
		"~$report.geojson":                                     "lock",
		"download.geojson.crdownload":                          "partial",
		"copy.tmp":                                             "tmp",
		".hidden.geojson":                                      "{}",
		".git/config":                                          "x",
		"scratch/test.geojson":                                 "{}",
		"conflict/a/same.geojson":                              "{}",
		"conflict/b/same.geojson":                              "{}",
		"shapes/parcels.shp":                                   "shp",
		"shapes/parcels.shx":                                   "shx",
		"shapes/parcels.dbf":                                   "dbf",
		"shapes/parcels.prj":                                   "prj",
		"shapes/broken.shp":                                    "shp",
		"shapes/broken.shx":                                    "shx",
		"shapes/orphan.dbf":                                    "dbf",
		"backup.bak":                                           "user-ignored",
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An oversized GeoJSON, sparse: it costs no disk.
	big, err := os.Create(filepath.Join(root, "huge.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(1_000_000_001); err != nil {
		t.Fatal(err)
	}
	big.Close()
	// A zipped shapefile missing its .dbf.
	zf, err := os.Create(filepath.Join(root, "shapes", "incomplete.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	for _, n := range []string{"x.shp", "x.shx"} {
		w, _ := zw.Create(n)
		w.Write([]byte("data"))
	}
	zw.Close()
	zf.Close()
	// A symbolic link loop: the walk must not follow it.
	if err := os.Symlink("..", filepath.Join(root, "north", "loop")); err != nil {
		t.Fatal(err)
	}
}

const goldenConfig = `
mapbox: {username: acme}
state: {path: ../state.db}
watch:
  - path: drop
    ignore: ["*.bak"]
rules:
  - match: "scratch/**"
    skip: true
  - match: "conflict/**"
    tileset: "{username}.{stem}"
  - match: "**/*.shp"
    tileset: "{username}.shp-{stem}"
  - match: "*.zip"
    tileset: "{username}.zip-{stem}"
  - match: "**/*.geojson"
    tileset: "{username}.{path}"
    name: "{name}"
  - match: "*.csv"
    tileset: "{username}.{dir}-{stem}"
  - match: "*.gpx"
  - match: "*.kml"
    tileset: "{username}.{parent}-{stem}"
  - match: "*.txt"
`

func TestWalkGolden(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "drop")
	makeTree(t, root)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(goldenConfig), 0o644); err != nil {
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, d := range ds {
		if d.Tileset != "" && !config.TilesetIDPattern.MatchString(d.Tileset) {
			t.Errorf("%s: tileset %q is not a valid ID", d.Path, d.Tileset)
		}
		d.Watch = strings.Replace(d.Watch, root, "WATCH", 1)
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
	}
	golden := filepath.Join("testdata", "plan.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./plan -update to create it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("plan differs from %s (go test ./plan -update rewrites it after a deliberate change):\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
