package format

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestZipShapefile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"roads.shp": "shp", "roads.SHX": "shx", "roads.dbf": "dbf", "roads.prj": "prj", "other.dbf": "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shp := filepath.Join(dir, "roads.shp")
	var a, b bytes.Buffer
	if err := ZipShapefile(shp, &a); err != nil {
		t.Fatal(err)
	}
	// Touching the files changes nothing in the zip: same bytes, same hash.
	later := time.Now().Add(time.Hour)
	for _, n := range []string{"roads.shp", "roads.SHX", "roads.dbf"} {
		os.Chtimes(filepath.Join(dir, n), later, later)
	}
	if err := ZipShapefile(shp, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("zipping the same shapefile twice gave different bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "roads.SHX,roads.dbf,roads.prj,roads.shp" {
		t.Errorf("zip holds %s", got)
	}
	if refusal, err := ZippedShapefile(writeFile(t, dir, "out.zip", a.Bytes())); err != nil || refusal != "" {
		t.Errorf("the zip made is refused: %q %v", refusal, err)
	}

	os.Remove(filepath.Join(dir, "roads.dbf"))
	if err := ZipShapefile(shp, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "missing its .dbf") {
		t.Errorf("without .dbf: err = %v", err)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
