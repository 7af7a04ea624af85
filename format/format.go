// Package format knows the file types Mapbox's Uploads API accepts, their size
// limits, and what makes a shapefile complete, so that a file that cannot
// succeed is refused before it costs an API request (or money).
//
// Limits are the Uploads API reference's, read as decimal units (1 GB =
// 1,000,000,000 bytes): where Mapbox may mean binary units the decimal reading
// is the stricter, and refusing a borderline file locally costs nothing while
// sending it costs a billed failure.
package format

import (
	"archive/zip"
	"fmt"
	"path"
	"strings"
)

// Format is an accepted file type.
type Format struct {
	Name  string   // "GeoJSON"
	Exts  []string // lower-case, with the dot
	Limit int64    // bytes; for a shapefile, the .shp and .dbf together, uncompressed
}

const (
	mb = 1000 * 1000
	gb = 1000 * mb
)

// The accepted types (the Uploads API reference, "Uploads API restrictions and limits").
var (
	CSV       = Format{"CSV", []string{".csv"}, 1 * gb}
	GeoJSON   = Format{"GeoJSON", []string{".geojson", ".json"}, 1 * gb}
	GPX       = Format{"GPX", []string{".gpx"}, 260 * mb}
	KML       = Format{"KML", []string{".kml"}, 260 * mb}
	MBTiles   = Format{"MBTiles", []string{".mbtiles"}, 25 * gb}
	Shapefile = Format{"Shapefile", []string{".zip", ".shp"}, 260 * mb}
	TIFF      = Format{"TIFF", []string{".tif", ".tiff"}, 10 * gb}

	All = []Format{CSV, GeoJSON, GPX, KML, MBTiles, Shapefile, TIFF}
)

// Of returns the format of a file name, by its extension (any case).
func Of(name string) (Format, bool) {
	ext := strings.ToLower(path.Ext(name))
	for _, f := range All {
		for _, e := range f.Exts {
			if e == ext {
				return f, true
			}
		}
	}
	return Format{}, false
}

// LimitString prints a limit the way Mapbox's table does: "260 MB", "25 GB".
func LimitString(n int64) string {
	if n%gb == 0 {
		return fmt.Sprintf("%d GB", n/gb)
	}
	return fmt.Sprintf("%d MB", n/mb)
}

// Shapefile parts. A shapefile is a .shp with at least its .shx and .dbf
// beside it, same stem; the others travel with it when present.
var (
	ShapefileRequired = []string{".shx", ".dbf"}
	ShapefileOptional = []string{".prj", ".cpg", ".sbn", ".sbx", ".qix", ".shp.xml"}
)

// ShapefileSidecar reports whether name is a part of a shapefile other than
// the .shp itself, and returns the .shp it belongs to.
func ShapefileSidecar(name string) (shp string, ok bool) {
	// Called for every file of every scan: no allocation unless it is a part.
	for _, exts := range [][]string{ShapefileRequired, ShapefileOptional} {
		for _, ext := range exts {
			if len(name) >= len(ext) && strings.EqualFold(name[len(name)-len(ext):], ext) {
				return name[:len(name)-len(ext)] + ".shp", true
			}
		}
	}
	return "", false
}

// MissingShapefileParts returns the required parts missing beside shp (a
// path), as extensions; exists tells whether a sibling path exists. Sibling
// names are matched case-insensitively by the caller's exists.
func MissingShapefileParts(shp string, exists func(path string) bool) []string {
	stem := shp[:len(shp)-len(path.Ext(shp))]
	var missing []string
	for _, ext := range ShapefileRequired {
		if !exists(stem+ext) && !exists(stem+strings.ToUpper(ext)) {
			missing = append(missing, ext)
		}
	}
	return missing
}

// ZippedShapefile inspects a .zip: it must hold a .shp with its .shx and .dbf,
// and the .shp and .dbf together, uncompressed, must fit Shapefile.Limit.
// It reads only the zip's central directory. It returns the reason to refuse
// the file, or "".
func ZippedShapefile(file string) (refusal string, err error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return "", fmt.Errorf("read zip %s: %w", file, err)
	}
	defer zr.Close()
	have := map[string]bool{}
	var size uint64
	var shp string
	for _, f := range zr.File {
		name := strings.ToLower(f.Name)
		have[name] = true
		switch path.Ext(name) {
		case ".shp":
			shp = name
			size += f.UncompressedSize64
		case ".dbf":
			size += f.UncompressedSize64
		}
	}
	if shp == "" {
		return "zip holds no shapefile (.shp)", nil
	}
	if missing := MissingShapefileParts(shp, func(p string) bool { return have[strings.ToLower(p)] }); len(missing) > 0 {
		return fmt.Sprintf("incomplete shapefile in zip (missing %s)", strings.Join(missing, ", ")), nil
	}
	if size > uint64(Shapefile.Limit) {
		return fmt.Sprintf("too large for Shapefile (.shp and .dbf are %s uncompressed, limit %s)", humanBytes(int64(size)), LimitString(Shapefile.Limit)), nil
	}
	return "", nil
}

// humanBytes prints a size in decimal units, as the limits are written.
func humanBytes(n int64) string {
	switch {
	case n >= gb:
		return fmt.Sprintf("%.1f GB", float64(n)/gb)
	case n >= mb:
		return fmt.Sprintf("%.1f MB", float64(n)/mb)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Check refuses what cannot succeed, by name and size alone: an unknown
// type, an empty file, a file over its type's limit. It returns the format and
// the reason to refuse ("" to accept). Zipped and bare shapefiles need their
// parts checked too (ZippedShapefile, MissingShapefileParts).
func Check(name string, size int64) (Format, string) {
	f, ok := Of(name)
	if !ok {
		ext := path.Ext(name)
		if ext == "" {
			return f, "unsupported type (no extension)"
		}
		return f, fmt.Sprintf("unsupported type %s", strings.ToLower(ext))
	}
	if size == 0 {
		return f, "empty file"
	}
	if size > f.Limit {
		return f, fmt.Sprintf("too large for %s (%s, limit %s)", f.Name, humanBytes(size), LimitString(f.Limit))
	}
	return f, ""
}
