package format

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		size   int64
		format string
		refuse string
	}{
		{"roads.geojson", 10, "GeoJSON", ""},
		{"ROADS.GEOJSON", 10, "GeoJSON", ""},
		{"a.json", 1_000_000_000, "GeoJSON", ""},
		{"a.json", 1_000_000_001, "GeoJSON", "too large for GeoJSON (1.0 GB, limit 1 GB)"},
		{"t.gpx", 260_000_001, "GPX", "too large for GPX (260.0 MB, limit 260 MB)"},
		{"big.mbtiles", 25_000_000_000, "MBTiles", ""},
		{"x.tif", 5, "TIFF", ""},
		{"x.TIFF", 5, "TIFF", ""},
		{"x.kml", 0, "KML", "empty file"},
		{"notes.txt", 5, "", "unsupported type .txt"},
		{"README", 5, "", "unsupported type (no extension)"},
	}
	for _, tt := range tests {
		f, refuse := Check(tt.name, tt.size)
		if f.Name != tt.format || refuse != tt.refuse {
			t.Errorf("Check(%q, %d) = %q, %q; want %q, %q", tt.name, tt.size, f.Name, refuse, tt.format, tt.refuse)
		}
	}
}

func TestShapefileParts(t *testing.T) {
	if shp, ok := ShapefileSidecar("a/roads.DBF"); !ok || shp != "a/roads.shp" {
		t.Errorf("ShapefileSidecar(roads.DBF) = %q, %v", shp, ok)
	}
	if shp, ok := ShapefileSidecar("roads.shp.xml"); !ok || shp != "roads.shp" {
		t.Errorf("ShapefileSidecar(roads.shp.xml) = %q, %v", shp, ok)
	}
	if _, ok := ShapefileSidecar("roads.geojson"); ok {
		t.Error("ShapefileSidecar(roads.geojson) = true")
	}
	have := map[string]bool{"d/roads.shx": true}
	got := MissingShapefileParts("d/roads.shp", func(p string) bool { return have[p] })
	if strings.Join(got, ",") != ".dbf" {
		t.Errorf("missing parts = %q, want [.dbf]", got)
	}
}

func TestZippedShapefile(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, files map[string]int) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for n, size := range files {
			w, err := zw.Create(n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		files map[string]int
		want  string
	}{
		{"ok.zip", map[string]int{"roads.shp": 100, "roads.shx": 10, "roads.dbf": 50, "roads.prj": 5}, ""},
		{"upper.zip", map[string]int{"dir/ROADS.SHP": 100, "dir/ROADS.SHX": 10, "dir/ROADS.DBF": 50}, ""},
		{"nodbf.zip", map[string]int{"roads.shp": 100, "roads.shx": 10}, "incomplete shapefile in zip (missing .dbf)"},
		{"noshp.zip", map[string]int{"readme.txt": 1}, "zip holds no shapefile (.shp)"},
	}
	for _, tt := range tests {
		got, err := ZippedShapefile(mk(tt.name, tt.files))
		if err != nil || got != tt.want {
			t.Errorf("ZippedShapefile(%s) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	notZip := filepath.Join(dir, "fake.zip")
	if err := os.WriteFile(notZip, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ZippedShapefile(notZip); err == nil || !strings.Contains(err.Error(), notZip) {
		t.Errorf("ZippedShapefile(not a zip) error = %v, want one naming the file", err)
	}
}
