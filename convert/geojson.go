package convert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// rawFeature is a GeoJSON object as read: a Feature, or a bare geometry.
// Its raw members and its geometry keep their buffers from one feature to
// the next; the geometry is decoded with the feature, in one pass.
type rawFeature struct {
	Type        string          `json:"type"`
	ID          json.RawMessage `json:"id"`
	Geometry    *rawGeometry    `json:"geometry"` // nil for null
	Properties  json.RawMessage `json:"properties"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometries  json.RawMessage `json:"geometries"`

	geom rawGeometry // what Geometry points to before a decode
}

type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometries  json.RawMessage `json:"geometries"`
}

// reset empties rf for the next decode (json leaves absent members as
// they were) and keeps its buffers.
func (rf *rawFeature) reset() {
	rf.Type = ""
	rf.ID, rf.Properties = rf.ID[:0], rf.Properties[:0]
	rf.Coordinates, rf.Geometries = rf.Coordinates[:0], rf.Geometries[:0]
	rf.geom.Type = ""
	rf.geom.Coordinates, rf.geom.Geometries = rf.geom.Coordinates[:0], rf.geom.Geometries[:0]
	rf.Geometry = &rf.geom
}

// featureWriter normalises GeoJSON features read by either GeoJSON reader.
type featureWriter struct {
	o          *output
	props      bytes.Buffer
	warnedUTF8 bool
}

// feature writes rf as a normalised Feature, or counts it as skipped when
// it has no geometry (null, absent or {}).
func (fw *featureWriter) feature(rf *rawFeature) error {
	if rf.Type != "Feature" {
		if _, ok := geometryDepth[rf.Type]; ok || rf.Type == "GeometryCollection" {
			return fw.write(nil, rf.Type, rf.Coordinates, nil)
		}
		if rf.Type == "" {
			return invalidf(`object has no "type"`)
		}
		return invalidf(`type is %q, where a Feature was expected`, rf.Type)
	}
	g := rf.Geometry
	if g == nil || (g.Type == "" && len(g.Coordinates) == 0 && len(g.Geometries) == 0) {
		fw.o.skip()
		return nil
	}
	return fw.write(rf.ID, g.Type, g.Coordinates, rf.Properties)
}

func (fw *featureWriter) write(id json.RawMessage, typ string, coords, props json.RawMessage) error {
	depth, ok := geometryDepth[typ]
	switch {
	case typ == "GeometryCollection":
		return unsupportedf("geometry is a GeometryCollection, which MTS does not take: split it into features of one geometry type")
	case typ == "":
		return invalidf(`geometry has no "type"`)
	case !ok:
		return invalidf("unknown geometry type %q", typ)
	}
	id, err := checkID(id)
	if err != nil {
		return err
	}
	if !utf8.Valid(id) {
		id = fw.validUTF8(id)
	}
	o := fw.o
	o.begin(id)
	o.line = append(o.line, `{"type":"`...)
	o.line = append(o.line, typ...)
	o.line = append(o.line, `","coordinates":`...)
	line, n, err := appendCoords(o.line, coords, depth)
	if err != nil {
		return fmt.Errorf("geometry (%s): %w", typ, err)
	}
	if n == 0 {
		o.skip()
		return nil
	}
	o.line = append(line, '}')
	if isNull(props) {
		return o.rawProps([]byte("{}"))
	}
	fw.props.Reset()
	if err := json.Compact(&fw.props, props); err != nil {
		return invalidf("properties: %v", err)
	}
	p := fw.props.Bytes()
	if p[0] != '{' {
		return invalidf("properties must be an object or null, not %.40s", p)
	}
	if !utf8.Valid(p) {
		p = fw.validUTF8(p)
	}
	nestedKeys(p, o.nestedKey)
	return o.rawProps(p)
}

// validUTF8 replaces the invalid UTF-8 in a JSON text's strings (the only
// place a decoder lets it through) by U+FFFD, and warns once.
func (fw *featureWriter) validUTF8(b []byte) []byte {
	if !fw.warnedUTF8 {
		fw.warnedUTF8 = true
		fw.o.warnf("invalid UTF-8 in strings was replaced by U+FFFD (the first at feature %d)", fw.o.stats.Features+fw.o.stats.SkippedNoGeometry+1)
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// checkID returns a Feature's id to write: a string or a number as it is,
// nil for none (absent or null).
func checkID(id json.RawMessage) (json.RawMessage, error) {
	if isNull(id) {
		return nil, nil
	}
	id = bytes.TrimSpace(id)
	if id[0] == '"' || id[0] == '-' || (id[0] >= '0' && id[0] <= '9') {
		return id, nil
	}
	return nil, invalidf("id must be a string or a number, not %.40s", id)
}

func isNull(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// nestedKeys calls fn with each key of the compact JSON object obj whose
// value is an object or an array.
func nestedKeys(obj []byte, fn func(key string)) {
	depth := 0
	for i := 0; i < len(obj); i++ {
		switch obj[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j := i + 1
			for j < len(obj) && obj[j] != '"' {
				if obj[j] == '\\' {
					j++
				}
				j++
			}
			if depth == 1 && j+2 < len(obj) && obj[j+1] == ':' && (obj[j+2] == '{' || obj[j+2] == '[') {
				fn(unquote(obj[i : j+1]))
			}
			i = j
		}
	}
}

func unquote(q []byte) string {
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1])
	}
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(q)
	}
	return s
}

// convertGeoJSON reads GeoJSON objects one after another (usually one
// FeatureCollection) with json.Decoder's tokens: a FeatureCollection's
// features are decoded one at a time, never the array whole. A file
// whose first line is a whole Feature and which goes on is read as
// line-delimited GeoJSON instead, for errors that name lines.
func convertGeoJSON(src *source, br *bufio.Reader, o *output) error {
	if looksLineDelimited(br) {
		return convertGeoJSONSeq(src, br, o)
	}
	r := &geojsonReader{src: src, dec: json.NewDecoder(br), fw: featureWriter{o: o}}
	objects := 0
	for {
		tok, err := r.dec.Token()
		if err == io.EOF {
			if objects == 0 {
				return src.fail(at{offset: 0}, invalidf("no GeoJSON object in the file"))
			}
			return nil
		}
		if err != nil {
			return r.fail(err)
		}
		if tok != json.Delim('{') {
			return r.fail(invalidf("expected a GeoJSON object, found %v", tok))
		}
		objects++
		if err := r.object(); err != nil {
			return err
		}
	}
}

type geojsonReader struct {
	src *source
	dec *json.Decoder
	fw  featureWriter
	rf  rawFeature
	n   int64 // features read so far, skipped ones included
}

func (r *geojsonReader) fail(err error) error {
	return r.src.fail(at{feature: r.n, offset: r.dec.InputOffset()}, err)
}

// object reads the members of a top-level object after its '{'. Only
// "features" is streamed; the other members are small or skipped.
func (r *geojsonReader) object() error {
	var top rawFeature
	top.reset()
	features := false
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return r.fail(err)
		}
		key, _ := tok.(string)
		var dst any
		switch key {
		case "type":
			dst = &top.Type
		case "id":
			dst = &top.ID
		case "geometry":
			dst = &top.Geometry
		case "properties":
			dst = &top.Properties
		case "coordinates":
			dst = &top.Coordinates
		case "geometries":
			dst = &top.Geometries
		case "features":
			features = true
			if err := r.features(); err != nil {
				return err
			}
			continue
		case "crs":
			var crs json.RawMessage
			if err := r.dec.Decode(&crs); err != nil {
				return r.fail(err)
			}
			if err := checkCRS(crs); err != nil {
				return r.fail(err)
			}
			continue
		default:
			if err := skipValue(r.dec); err != nil {
				return r.fail(err)
			}
			continue
		}
		if err := r.dec.Decode(dst); err != nil {
			return r.fail(jsonError(err))
		}
	}
	if _, err := r.dec.Token(); err != nil { // '}'
		return r.fail(err)
	}
	switch {
	case top.Type == "FeatureCollection":
		if !features {
			o := r.fw.o
			o.warnf("%s: a FeatureCollection without \"features\"", r.src.name)
		}
		return nil
	case features:
		return r.fail(invalidf(`"features" in an object of type %q`, top.Type))
	}
	r.n++
	if err := r.fw.feature(&top); err != nil {
		return r.fail(err)
	}
	return nil
}

// features streams the "features" array, one Feature at a time.
func (r *geojsonReader) features() error {
	tok, err := r.dec.Token()
	if err != nil {
		return r.fail(err)
	}
	if tok == nil { // "features": null, as some writers put an empty collection
		return nil
	}
	if tok != json.Delim('[') {
		return r.fail(invalidf(`"features" is not an array`))
	}
	for r.dec.More() {
		r.n++
		start := r.dec.InputOffset()
		r.rf.reset()
		if err := r.dec.Decode(&r.rf); err != nil {
			return r.src.fail(at{feature: r.n, offset: start}, jsonError(err))
		}
		if err := r.fw.feature(&r.rf); err != nil {
			return r.src.fail(at{feature: r.n, offset: start}, err)
		}
	}
	if _, err := r.dec.Token(); err != nil { // ']'
		return r.fail(err)
	}
	return nil
}

// skipValue reads past one value, token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// checkCRS refuses a GeoJSON 2008 "crs" member naming anything but lon/lat WGS84.
func checkCRS(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var crs struct {
		Type       string `json:"type"`
		Properties struct {
			Name string `json:"name"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &crs); err != nil {
		return invalidf("crs: %v", err)
	}
	name := crs.Properties.Name
	upper := strings.ToUpper(name)
	for _, ok := range []string{"CRS84", "EPSG::4326", "EPSG:4326", "WGS84", "WGS 84"} {
		if strings.Contains(upper, ok) {
			return nil
		}
	}
	if name == "" {
		name = string(raw)
	}
	return unsupportedf("crs %q is not lon/lat WGS84 (OGC:CRS84), the only coordinates MTS takes", name)
}

// looksLineDelimited peeks at the start of br: a first line that is a
// whole Feature, followed by more, or a record separator (RFC 8142).
func looksLineDelimited(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) > 0 && head[0] == 0x1e {
		return true
	}
	line, rest, found := bytes.Cut(head, []byte("\n"))
	if !found || len(bytes.TrimSpace(rest)) == 0 || !json.Valid(line) {
		return false
	}
	var t struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(line, &t) == nil && t.Type == "Feature"
}

var errTooLong = errors.New("record too long")

// jsonError words encoding/json's type errors in GeoJSON's terms, not Go's.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	want := "an object"
	if te.Type != nil && te.Type.Kind() == reflect.String {
		want = "a string"
	}
	field := te.Field
	if field == "" {
		field = "the value"
	}
	return invalidf("%s is a JSON %s, where %s was expected", field, te.Value, want)
}
