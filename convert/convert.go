package convert

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Kind is the format of an input file.
type Kind int

// The kinds of input Convert reads.
const (
	KindUnknown  Kind = iota
	GeoJSON           // a FeatureCollection, a Feature, a geometry, or several of them one after another
	GeoJSONSeq        // line-delimited GeoJSON (one Feature per line; RFC 8142 record separators allowed)
	CSV               // points from latitude and longitude columns
	GPX               // waypoints, routes and tracks
	KML               // placemarks
	ShapefileZip      // a .zip holding one shapefile
	Shapefile         // a .shp with its .dbf (and .shx, .prj, .cpg) beside it
	MBTiles           // refused: not an MTS vector source
	GeoTIFF           // refused: not an MTS vector source
)

var kindNames = [...]string{"unknown", "GeoJSON", "line-delimited GeoJSON", "CSV", "GPX", "KML", "zipped shapefile", "shapefile", "MBTiles", "GeoTIFF"}

// String names the kind for people.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

var extKinds = map[string]Kind{
	".geojson": GeoJSON, ".json": GeoJSON,
	".geojsonl": GeoJSONSeq, ".geojsons": GeoJSONSeq, ".geojsonseq": GeoJSONSeq, ".ldgeojson": GeoJSONSeq,
	".ndjson": GeoJSONSeq, ".jsonl": GeoJSONSeq, ".ld": GeoJSONSeq,
	".csv": CSV, ".gpx": GPX, ".kml": KML, ".zip": ShapefileZip, ".shp": Shapefile,
	".mbtiles": MBTiles, ".tif": GeoTIFF, ".tiff": GeoTIFF,
}

// Input names a file to convert.
type Input struct {
	// Path is the file; for a Shapefile, its .shp.
	Path string
	// Kind is the file's format; KindUnknown detects it (Detect).
	Kind Kind
	// Parts are a Shapefile's other parts (.dbf, .shx, .prj, .cpg), by
	// path; when empty they are looked for beside Path, in any case of
	// extension. Only the .dbf is required.
	Parts []string
}

// Detect returns the kind of the file at path: by its extension, and by
// its first bytes when the extension is not one Convert knows.
func Detect(path string) (Kind, error) {
	if k, ok := extKinds[strings.ToLower(filepath.Ext(path))]; ok {
		return k, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return KindUnknown, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return KindUnknown, fmt.Errorf("read %s: %w", path, err)
	}
	if k := sniff(head[:n]); k != KindUnknown {
		return k, nil
	}
	return KindUnknown, newError(path, at{offset: -1}, unsupportedf("unknown file type (extension %q; MTS sources are made from GeoJSON, CSV, GPX, KML and shapefiles)", filepath.Ext(path)))
}

// sniff guesses a kind from a file's first bytes.
func sniff(head []byte) Kind {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n\x1e")
	switch {
	case bytes.HasPrefix(head, []byte("SQLite format 3\x00")):
		return MBTiles
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")),
		bytes.HasPrefix(head, []byte("II+\x00")), bytes.HasPrefix(head, []byte("MM\x00+")):
		return GeoTIFF
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return ShapefileZip
	case bytes.HasPrefix(trimmed, []byte("{")):
		return GeoJSON
	case bytes.HasPrefix(trimmed, []byte("<")):
		lower := bytes.ToLower(trimmed)
		switch {
		case bytes.Contains(lower, []byte("<gpx")):
			return GPX
		case bytes.Contains(lower, []byte("<kml")):
			return KML
		}
	}
	return KindUnknown
}

// Convert writes the features of the file in to w as line-delimited
// GeoJSON, one normalised Feature a line ({"type":"Feature","id":…,
// "geometry":…,"properties":{…}}, "id" only when the source has one),
// reading the file as a stream in memory bounded by its largest feature.
//
// It returns what it wrote (Stats, with the SHA-256 of the bytes written)
// and the first error: an *Error naming the file and the place for bad or
// unsupported content (wrapping ErrInvalid, ErrUnsupported or
// ErrNotVectorSource), or an error reading the file or writing w. On an
// error, w holds a partial output that must be discarded. It checks ctx
// as it reads, and returns ctx's error once ctx is done.
func Convert(ctx context.Context, in Input, w io.Writer) (Stats, error) {
	kind := in.Kind
	if kind == KindUnknown {
		var err error
		if kind, err = Detect(in.Path); err != nil {
			return Stats{Kind: kind}, err
		}
	}
	o := newOutput(w, kind)
	err := convertKind(ctx, in, kind, o)
	stats, ferr := o.finish()
	if err == nil {
		err = ferr
	}
	return stats, err
}

func convertKind(ctx context.Context, in Input, kind Kind, o *output) error {
	switch kind {
	case MBTiles, GeoTIFF:
		return newError(in.Path, at{offset: -1}, &kindError{ErrNotVectorSource, fmt.Errorf("%s is a tileset or raster format; MTS sources are vector features (send it through the Uploads API instead)", kind)})
	case ShapefileZip:
		return convertZippedShapefile(ctx, in.Path, o)
	case Shapefile:
		return convertShapefileSet(ctx, in, o)
	case GeoJSON, GeoJSONSeq, CSV, GPX, KML:
	default:
		return newError(in.Path, at{offset: -1}, unsupportedf("unknown kind %v", kind))
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	return convertReader(ctx, f, in.Path, kind, o)
}

// convertReader converts a stream of a kind that needs no random access.
func convertReader(ctx context.Context, r io.Reader, name string, kind Kind, o *output) error {
	src := &source{ctx: ctx, r: r, name: name}
	br := bufio.NewReaderSize(src, 256<<10)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3) // a UTF-8 byte order mark, which no decoder here skips
	}
	switch kind {
	case GeoJSON:
		return convertGeoJSON(src, br, o)
	case GeoJSONSeq:
		return convertGeoJSONSeq(src, br, o)
	case CSV:
		return convertCSV(src, br, o)
	case GPX:
		return convertGPX(src, br, o)
	case KML:
		return convertKML(src, br, o)
	}
	return newError(name, at{offset: -1}, unsupportedf("%v is not read as a stream", kind))
}

// source reads the input, checking ctx before each read, and remembers a
// failure to read so that a parser's complaint about truncated input is
// reported as the read error it really is.
type source struct {
	ctx  context.Context
	r    io.Reader
	name string
	err  error
}

func (s *source) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// at says where in the source a failure happened.
type at struct {
	line    int
	feature int64
	offset  int64 // -1: unknown
}

// fail returns the error to report for err at a place: the read error if
// reading failed, else an *Error naming the file and the place.
func (s *source) fail(where at, err error) error {
	if s.err != nil {
		if errors.Is(s.err, context.Canceled) || errors.Is(s.err, context.DeadlineExceeded) {
			return s.err
		}
		return fmt.Errorf("read %s: %w", s.name, s.err)
	}
	var ce *Error
	var we *writeError
	if errors.As(err, &ce) || errors.As(err, &we) {
		return err
	}
	return newError(s.name, where, err)
}
