package shapefile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// ShapeType is a shape type code of the shapefile specification.
type ShapeType int32

// The shape types.
const (
	Null        ShapeType = 0
	Point       ShapeType = 1
	PolyLine    ShapeType = 3
	Polygon     ShapeType = 5
	MultiPoint  ShapeType = 8
	PointZ      ShapeType = 11
	PolyLineZ   ShapeType = 13
	PolygonZ    ShapeType = 15
	MultiPointZ ShapeType = 18
	PointM      ShapeType = 21
	PolyLineM   ShapeType = 23
	PolygonM    ShapeType = 25
	MultiPointM ShapeType = 28
	MultiPatch  ShapeType = 31
)

var typeNames = map[ShapeType]string{
	Null: "Null", Point: "Point", PolyLine: "PolyLine", Polygon: "Polygon", MultiPoint: "MultiPoint",
	PointZ: "PointZ", PolyLineZ: "PolyLineZ", PolygonZ: "PolygonZ", MultiPointZ: "MultiPointZ",
	PointM: "PointM", PolyLineM: "PolyLineM", PolygonM: "PolygonM", MultiPointM: "MultiPointM",
	MultiPatch: "MultiPatch",
}

// String names the type as the specification does.
func (t ShapeType) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("ShapeType(%d)", int32(t))
}

// Base returns the type without Z or M: PolygonZ and PolygonM are Polygon.
func (t ShapeType) Base() ShapeType {
	switch t {
	case PointZ, PointM:
		return Point
	case PolyLineZ, PolyLineM:
		return PolyLine
	case PolygonZ, PolygonM:
		return Polygon
	case MultiPointZ, MultiPointM:
		return MultiPoint
	}
	return t
}

// XY is a position: x is the easting or longitude, y the northing or latitude.
type XY struct{ X, Y float64 }

// Shape is one record's geometry, its X and Y only.
type Shape struct {
	Type   ShapeType // Null, Point, MultiPoint, PolyLine or Polygon (Base of the record's type)
	Points []XY
	Parts  []int // start of each part (a polyline's line, a polygon's ring) in Points
}

// Part returns the points of part i.
func (s *Shape) Part(i int) []XY {
	end := len(s.Points)
	if i+1 < len(s.Parts) {
		end = s.Parts[i+1]
	}
	return s.Points[s.Parts[i]:end]
}

// Reader reads the records of a .shp in order.
type Reader struct {
	Type ShapeType  // the file's shape type, from its header
	BBox [4]float64 // xmin, ymin, xmax, ymax, from its header

	r      *bufio.Reader
	size   int64 // bytes in the file: the header's length, or the real size when smaller
	off    int64 // bytes read
	record int   // records read
	buf    []byte
	shape  Shape
}

// ErrCorrupt is wrapped by every error that describes a malformed file.
var ErrCorrupt = errors.New("corrupt shapefile")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// NewReader reads the header of a .shp from r. size is the file's real
// size when known (else -1): records are then checked against it.
func NewReader(r io.Reader, size int64) (*Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	var h [100]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt(".shp is shorter than its 100-byte header")
		}
		return nil, err
	}
	if code := binary.BigEndian.Uint32(h[0:]); code != 9994 {
		return nil, corrupt(".shp does not start with the shapefile code 9994 (found %d)", code)
	}
	sr := &Reader{r: br, off: 100}
	sr.size = int64(binary.BigEndian.Uint32(h[24:])) * 2
	if size >= 0 && (size < sr.size || sr.size < 100) {
		sr.size = size
	}
	sr.Type = ShapeType(binary.LittleEndian.Uint32(h[32:]))
	for i := range sr.BBox {
		sr.BBox[i] = math.Float64frombits(binary.LittleEndian.Uint64(h[36+8*i:]))
	}
	if _, ok := typeNames[sr.Type]; !ok {
		return nil, corrupt("unknown shape type %d in the .shp header", sr.Type)
	}
	return sr, nil
}

// Record returns the number of records read so far (the last one's number).
func (r *Reader) Record() int { return r.record }

// Offset returns the byte offset in the .shp of the end of the last record read.
func (r *Reader) Offset() int64 { return r.off }

// Next reads the next record's shape, valid until the next call. It
// returns io.EOF after the last record.
func (r *Reader) Next() (*Shape, error) {
	if r.off >= r.size {
		return nil, io.EOF
	}
	var h [8]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF // the header's length was more than the data
		}
		return nil, r.readErr(err)
	}
	r.record++
	n := int64(binary.BigEndian.Uint32(h[4:])) * 2
	if n < 4 || r.off+8+n > r.size {
		return nil, corrupt("record %d: content length %d runs past the end of the file (%d bytes)", r.record, n, r.size)
	}
	var err error
	if r.buf, err = readN(r.r, r.buf, int(n)); err != nil {
		return nil, r.readErr(err)
	}
	r.off += 8 + n
	if err := r.parse(r.buf); err != nil {
		return nil, fmt.Errorf("record %d: %w", r.record, err)
	}
	return &r.shape, nil
}

func (r *Reader) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt("record %d: the file ends inside it", r.record)
	}
	return err
}

// readN reads n bytes into buf, growing it only as the data arrives, so
// that a length read from a corrupt file cannot make it allocate more
// than the file holds.
func readN(r io.Reader, buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		chunk := min(n-len(buf), 1<<20)
		start := len(buf)
		buf = append(buf, make([]byte, chunk)...)
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// parse decodes a record's content into r.shape.
func (r *Reader) parse(c []byte) error {
	s := &r.shape
	s.Points, s.Parts = s.Points[:0], s.Parts[:0]
	t := ShapeType(binary.LittleEndian.Uint32(c))
	s.Type = t.Base()
	switch s.Type {
	case Null:
		return nil
	case Point:
		if len(c) < 20 {
			return corrupt("%v of %d bytes, needs 20", t, len(c))
		}
		s.Points = append(s.Points, xy(c[4:]))
		return nil
	case MultiPoint:
		if len(c) < 40 {
			return corrupt("%v of %d bytes, needs at least 40", t, len(c))
		}
		np := int64(binary.LittleEndian.Uint32(c[36:]))
		if 40+16*np > int64(len(c)) {
			return corrupt("%v says %d points, its %d bytes hold fewer", t, np, len(c))
		}
		for i := range int(np) {
			s.Points = append(s.Points, xy(c[40+16*i:]))
		}
		return nil
	case PolyLine, Polygon:
		return r.parseParts(t, c)
	case MultiPatch:
		return fmt.Errorf("MultiPatch shapes (3D surfaces) are not supported")
	}
	return corrupt("unknown shape type %d", int32(t))
}

func (r *Reader) parseParts(t ShapeType, c []byte) error {
	s := &r.shape
	if len(c) < 44 {
		return corrupt("%v of %d bytes, needs at least 44", t, len(c))
	}
	nparts := int64(binary.LittleEndian.Uint32(c[36:]))
	np := int64(binary.LittleEndian.Uint32(c[40:]))
	if 44+4*nparts+16*np > int64(len(c)) {
		return corrupt("%v says %d parts and %d points, its %d bytes hold fewer", t, nparts, np, len(c))
	}
	pts := 44 + 4*int(nparts)
	for i := range int(nparts) {
		p := int(binary.LittleEndian.Uint32(c[44+4*i:]))
		if p < 0 || int64(p) >= np || (i == 0 && p != 0) || (i > 0 && p < s.Parts[i-1]) {
			return corrupt("%v part %d starts at point %d, out of order or past its %d points", t, i+1, p, np)
		}
		s.Parts = append(s.Parts, p)
	}
	if nparts == 0 && np > 0 {
		return corrupt("%v has %d points in no part", t, np)
	}
	for i := range int(np) {
		s.Points = append(s.Points, xy(c[pts+16*i:]))
	}
	return nil
}

func xy(b []byte) XY {
	return XY{
		X: math.Float64frombits(binary.LittleEndian.Uint64(b)),
		Y: math.Float64frombits(binary.LittleEndian.Uint64(b[8:])),
	}
}
