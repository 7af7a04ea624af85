package format

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
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
	if err := ZipShapefile(t.Context(), shp, plainOpen, &a); err != nil {
		t.Fatal(err)
	}
	// Touching the files changes nothing in the zip: same bytes, same hash.
	later := time.Now().Add(time.Hour)
	for _, n := range []string{"roads.shp", "roads.SHX", "roads.dbf"} {
		os.Chtimes(filepath.Join(dir, n), later, later)
	}
	if err := ZipShapefile(t.Context(), shp, plainOpen, &b); err != nil {
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
	if err := ZipShapefile(t.Context(), shp, plainOpen, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "missing its .dbf") {
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

func plainOpen(p string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// TestZipFromOpenedParts: the zip is made from the descriptors opened (and
// checked), not by opening the paths again: a part replaced on disk after
// the opening does not get in, nor do bytes appended past the size checked.
func TestZipFromOpenedParts(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"roads.shp", "roads.shx", "roads.dbf"} {
		writeFile(t, dir, n, []byte("checked "+n))
	}
	var opened []string
	s, err := OpenShapefile(filepath.Join(dir, "roads.shp"), func(p string) (*os.File, fs.FileInfo, error) {
		opened = append(opened, filepath.Base(p))
		return plainOpen(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := strings.Join(opened, ","); got != "roads.shp,roads.shx,roads.dbf" {
		t.Errorf("opened %s, want each part once", got)
	}
	// Swap the .dbf for another file, and append to the .shp.
	writeFile(t, dir, "evil", []byte("swapped in"))
	if err := os.Rename(filepath.Join(dir, "evil"), filepath.Join(dir, "roads.dbf")); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "roads.shp"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(" and more")
	f.Close()
	var buf bytes.Buffer
	if err := s.Zip(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		r, _ := zf.Open()
		b, _ := io.ReadAll(r)
		if string(b) != "checked "+zf.Name {
			t.Errorf("zip holds %s = %q, want the bytes of the part opened", zf.Name, b)
		}
	}
}

// TestZipShapefileRefusesAndCancels: a huge sparse sidecar is refused
// before a byte is written; a cancelled context stops the zip.
func TestZipShapefileRefusesAndCancels(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"roads.shp", "roads.shx", "roads.dbf"} {
		writeFile(t, dir, n, []byte(n))
	}
	qix := writeFile(t, dir, "roads.qix", nil)
	if err := os.Truncate(qix, 1_000_000_000_000); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := ZipShapefile(t.Context(), filepath.Join(dir, "roads.shp"), plainOpen, &buf)
	if err == nil || !strings.Contains(err.Error(), "roads.qix is 1000.0 GB") || buf.Len() != 0 {
		t.Errorf("ZipShapefile with a 1 TB .qix = %v, %d bytes written; want a refusal naming it, nothing written", err, buf.Len())
	}
	os.Remove(qix)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := ZipShapefile(ctx, filepath.Join(dir, "roads.shp"), plainOpen, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("ZipShapefile(cancelled) = %v, want context.Canceled", err)
	}
}
