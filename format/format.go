// Package format knows the file types Mapbox's Uploads API accepts, their size
// limits, and what makes a shapefile complete, so that a file that cannot
// succeed is refused before it costs an API request (or money).
//
// Limits are the Uploads API reference's, read as decimal units (1 GB =
// 1,000,000,000 bytes): where Mapbox may mean binary units the decimal reading
// is the stricter, and refusing a borderline file locally costs nothing while
// sending it costs a billed failure.
//
// A shapefile's size rule counts every part: the .shp and .dbf within
// Mapbox's 260 MB, and all the parts together within ShapefileTotalLimit
// (twice that), so a sidecar of any size cannot ride along into the spool
// or the upload. A bare shapefile is zipped from parts opened once each
// (OpenShapefile, with the caller's rules on links and special files), whose
// sizes are those checked and whose descriptors are those read.
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

// ShapefileTotalLimit bounds every part of a shapefile together,
// uncompressed: the .shp and .dbf within Shapefile.Limit (Mapbox's own
// rule) and the rest (.shx, indexes, projection, metadata) within as much
// again. Every part counts, so an index or metadata file of any size beside
// a small shapefile cannot fill the spool it is zipped into, nor the
// upload. A .shx is at most two thirds of its .shp, and the indexes a
// fraction of it: a shapefile Mapbox takes fits.
const ShapefileTotalLimit = 2 * 260 * mb

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
// and its entries' uncompressed sizes must pass ShapefileSizeRefusal (every
// entry counts). It reads only the zip's central directory. It returns the reason to refuse
// the file, or "".
func ZippedShapefile(file string) (refusal string, err error) {
	sizes, refusal, err := ZippedShapefileParts(file)
	if refusal != "" || err != nil {
		return refusal, err
	}
	return ShapefileSizeRefusal(sizes), nil
}

// ZippedShapefileParts inspects a .zip's central directory: it must hold a
// .shp with its .shx and .dbf. It returns every entry's name and
// uncompressed size, for a size rule (ShapefileSizeRefusal is the Uploads
// API's), and the reason to refuse the zip as no complete shapefile, or "".
func ZippedShapefileParts(file string) (sizes []PartSize, refusal string, err error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, "", fmt.Errorf("read zip %s: %w", file, err)
	}
	defer zr.Close()
	have := map[string]bool{}
	var shp string
	for _, f := range zr.File {
		name := strings.ToLower(f.Name)
		have[name] = true
		if path.Ext(name) == ".shp" {
			shp = name
		}
		sizes = append(sizes, PartSize{Name: path.Base(f.Name), Size: int64(min(f.UncompressedSize64, 1<<62))})
	}
	if shp == "" {
		return sizes, "zip holds no shapefile (.shp)", nil
	}
	if missing := MissingShapefileParts(shp, func(p string) bool { return have[strings.ToLower(p)] }); len(missing) > 0 {
		return sizes, fmt.Sprintf("incomplete shapefile in zip (missing %s)", strings.Join(missing, ", ")), nil
	}
	return sizes, "", nil
}

// PartSize is the name and uncompressed size of a part of a shapefile.
type PartSize struct {
	Name string
	Size int64
}

// ShapefileSizeRefusal applies the size rule to a shapefile's parts (all of
// them, the .shp included): the .shp and .dbf together within
// Shapefile.Limit, and every part together within ShapefileTotalLimit. It
// returns the reason to refuse, naming the largest part when the total is
// over, or "".
func ShapefileSizeRefusal(parts []PartSize) string {
	var shpDbf, total int64
	var largest PartSize
	for _, p := range parts {
		switch strings.ToLower(path.Ext(p.Name)) {
		case ".shp", ".dbf":
			shpDbf += p.Size
		}
		total += p.Size
		if p.Size > largest.Size {
			largest = p
		}
	}
	if shpDbf > Shapefile.Limit {
		return fmt.Sprintf("too large for Shapefile (.shp and .dbf are %s uncompressed, limit %s)", HumanBytes(shpDbf), LimitString(Shapefile.Limit))
	}
	if total > ShapefileTotalLimit {
		return fmt.Sprintf("too large for Shapefile (its parts are %s together uncompressed, limit %s; %s is %s)",
			HumanBytes(total), LimitString(ShapefileTotalLimit), largest.Name, HumanBytes(largest.Size))
	}
	return ""
}

// HumanBytes prints a size in decimal units, as the limits are written.
func HumanBytes(n int64) string {
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
		return f, fmt.Sprintf("too large for %s (%s, limit %s)", f.Name, HumanBytes(size), LimitString(f.Limit))
	}
	return f, ""
}
