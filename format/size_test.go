package format

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShapefileSizeRule: every part counts. The .shp and .dbf keep Mapbox's
// own limit; all the parts together may not pass ShapefileTotalLimit, so a
// huge index or metadata file beside a small shapefile is refused, named.
func TestShapefileSizeRule(t *testing.T) {
	const m = 1_000_000
	tests := []struct {
		parts []PartSize
		want  string // a fragment of the refusal; "" to accept
	}{
		{[]PartSize{{"roads.shp", 200 * m}, {"roads.dbf", 60 * m}, {"roads.shx", 10 * m}}, ""},
		{[]PartSize{{"roads.shp", 200 * m}, {"roads.dbf", 60*m + 1}}, ".shp and .dbf are 260.0 MB"},
		{[]PartSize{{"roads.shp", 250 * m}, {"roads.dbf", 10 * m}, {"roads.shx", 170 * m}, {"roads.qix", 90 * m}}, ""},
		{[]PartSize{{"roads.shp", 1000}, {"roads.dbf", 1000}, {"roads.shx", 100}, {"roads.qix", 1_000_000_000_000}},
			"roads.qix is 1000.0 GB"},
		{[]PartSize{{"roads.shp", 1000}, {"roads.dbf", 1000}, {"roads.shp.xml", 600 * m}}, "parts are 600.0 MB together"},
	}
	for _, tt := range tests {
		got := ShapefileSizeRefusal(tt.parts)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("ShapefileSizeRefusal(%v) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}

// TestZippedShapefileCountsEveryPart: a zip whose directory claims a 1 TB
// .qix beside a small shapefile is refused, naming it.
func TestZippedShapefileCountsEveryPart(t *testing.T) {
	p := filepath.Join(t.TempDir(), "roads.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, n := range []string{"roads.shp", "roads.shx", "roads.dbf"} {
		w, _ := zw.Create(n)
		w.Write([]byte("data"))
	}
	// The directory is what is read: an entry that says 1 TB, stored raw.
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "roads.qix", Method: zip.Store, CompressedSize64: 4, UncompressedSize64: 1_000_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("qix!"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ZippedShapefile(p)
	if err != nil || !strings.Contains(got, "roads.qix") {
		t.Errorf("ZippedShapefile = %q, %v; want a refusal naming roads.qix", got, err)
	}
}
