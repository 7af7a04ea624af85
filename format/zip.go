package format

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// zipEpoch is the modification time written for every zipped part, so that
// the same shapefile always zips to the same bytes (and so the same hash:
// an unchanged shapefile is recognised and not uploaded again).
var zipEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ShapefileParts returns the files of the shapefile whose .shp is shp: the
// .shp, its required parts, and the optional ones present, in a fixed order,
// as they exist on disk (any case of extension). It fails naming the first
// required part that is missing.
func ShapefileParts(shp string) ([]string, error) {
	stem := strings.TrimSuffix(shp, filepath.Ext(shp))
	parts := []string{shp}
	for i, ext := range append(append([]string{}, ShapefileRequired...), ShapefileOptional...) {
		found := ""
		for _, cand := range []string{stem + ext, stem + strings.ToUpper(ext)} {
			if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() {
				found = cand
				break
			}
		}
		if found == "" {
			if i < len(ShapefileRequired) {
				return nil, fmt.Errorf("shapefile %s: missing its %s", shp, ext)
			}
			continue
		}
		parts = append(parts, found)
	}
	return parts, nil
}

// ZipShapefile writes the shapefile whose .shp is shp, with its parts, as one
// zip to w, the form Mapbox takes. The output is deterministic: the same
// parts with the same bytes give the same zip, whatever their times.
func ZipShapefile(shp string, w io.Writer) error {
	parts, err := ShapefileParts(shp)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, p := range parts {
		if err := addToZip(zw, p); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip shapefile %s: %w", shp, err)
	}
	return nil
}

func addToZip(zw *zip.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("zip shapefile: %w", err)
	}
	defer f.Close()
	hdr := &zip.FileHeader{Name: filepath.Base(path), Method: zip.Deflate, Modified: zipEpoch}
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("zip shapefile: %s: %w", path, err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("zip shapefile: read %s: %w", path, err)
	}
	return nil
}
