package shapefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// dbf builds a .dbf of one record from fields given as (name, type,
// length, raw value bytes).
func dbf(fields ...struct {
	name string
	typ  byte
	raw  []byte
}) []byte {
	recLen := 1
	for _, f := range fields {
		recLen += len(f.raw)
	}
	var b bytes.Buffer
	h := make([]byte, 32)
	binary.LittleEndian.PutUint32(h[4:], 1)
	binary.LittleEndian.PutUint16(h[8:], uint16(32+32*len(fields)+1))
	binary.LittleEndian.PutUint16(h[10:], uint16(recLen))
	b.Write(h)
	for _, f := range fields {
		d := make([]byte, 32)
		copy(d, f.name)
		d[11], d[16] = f.typ, byte(len(f.raw))
		b.Write(d)
	}
	b.WriteByte(0x0D)
	b.WriteByte(' ')
	for _, f := range fields {
		b.Write(f.raw)
	}
	return b.Bytes()
}

func le32(n int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(n)) }

func TestDBFTypes(t *testing.T) {
	type f = struct {
		name string
		typ  byte
		raw  []byte
	}
	data := dbf(
		f{"I", 'I', le32(-42)},
		f{"AUTO", '+', le32(7)},
		f{"O", 'O', binary.LittleEndian.AppendUint64(nil, math.Float64bits(2.5))},
		f{"TS", '@', append(le32(2460311), le32(3600_000+500)...)}, // 2024-01-01 01:00:00.500
		f{"STARS", 'N', []byte("*****")},
		f{"LEAD", 'N', []byte("  007")},
		f{"MEMO", 'M', []byte("0000000001")},
	)
	d, err := NewDBF(bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	vals, deleted, err := d.Next()
	if err != nil || deleted {
		t.Fatalf("Next: %v, deleted %v", err, deleted)
	}
	want := []Value{
		{Kind: KindNumber, Text: "-42", Num: -42},
		{Kind: KindNumber, Text: "7", Num: 7},
		{Kind: KindNumber, Text: "2.5", Num: 2.5},
		{Kind: KindString, Text: "2024-01-01T01:00:00.500Z"},
		{},
		{Kind: KindNumber, Text: "007", Num: 7},
		{},
	}
	for i := range want {
		if vals[i] != want[i] {
			t.Errorf("field %s: %+v, want %+v", d.Fields[i].Name, vals[i], want[i])
		}
	}
	if s := d.Skipped(); len(s) != 1 || s[0].Name != "MEMO" {
		t.Errorf("Skipped %+v", s)
	}
	if _, _, err := d.Next(); err != io.EOF {
		t.Errorf("Next after the last record: %v", err)
	}
}

func TestDBFCorrupt(t *testing.T) {
	good := dbf(struct {
		name string
		typ  byte
		raw  []byte
	}{"N", 'C', []byte("abc")})
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"short header":   {good[:10], "shorter than its 32-byte header"},
		"cut field list": {good[:40], "ends inside its field list"},
		"record too short": {func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint16(b[10:], 2)
			return b
		}(), "fields need 4 bytes a record"},
		"cut record": {good[:len(good)-2], "ends inside record 1"},
	} {
		d, err := NewDBF(bytes.NewReader(tc.data), "")
		if err == nil {
			_, _, err = d.Next()
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrCorrupt saying %q", name, err, tc.want)
		}
	}
}

func TestShpCorrupt(t *testing.T) {
	header := func(typ ShapeType, fileLen int) []byte {
		h := make([]byte, 100)
		binary.BigEndian.PutUint32(h, 9994)
		binary.BigEndian.PutUint32(h[24:], uint32(fileLen/2))
		binary.LittleEndian.PutUint32(h[32:], uint32(typ))
		return h
	}
	record := func(content []byte) []byte {
		r := binary.BigEndian.AppendUint32(nil, 1)
		r = binary.BigEndian.AppendUint32(r, uint32(len(content)/2))
		return append(r, content...)
	}
	poly := func(nparts, npoints int32, parts []int32, pointBytes int) []byte {
		c := le32(int32(Polygon))
		c = append(c, make([]byte, 32)...)
		c = append(c, le32(nparts)...)
		c = append(c, le32(npoints)...)
		for _, p := range parts {
			c = append(c, le32(p)...)
		}
		return append(c, make([]byte, pointBytes)...)
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"bad code":     {append([]byte{0, 0, 0, 1}, make([]byte, 96)...), "does not start with the shapefile code"},
		"unknown type": {header(99, 100), "unknown shape type 99"},
		"huge points": {func() []byte {
			c := poly(1, 1<<30, []int32{0}, 16)
			return append(header(Polygon, 100+8+len(c)), record(c)...)
		}(), "says 1 parts and 1073741824 points"},
		"parts out of order": {func() []byte {
			c := poly(2, 2, []int32{0, 5}, 32)
			return append(header(Polygon, 100+8+len(c)), record(c)...)
		}(), "part 2 starts at point 5"},
		"first part not at 0": {func() []byte {
			c := poly(1, 2, []int32{1}, 32)
			return append(header(Polygon, 100+8+len(c)), record(c)...)
		}(), "part 1 starts at point 1"},
		"point too short": {func() []byte {
			c := le32(int32(Point))
			return append(header(Point, 100+8+len(c)), record(c)...)
		}(), "Point of 4 bytes, needs 20"},
	} {
		r, err := NewReader(bytes.NewReader(tc.data), int64(len(tc.data)))
		if err == nil {
			_, err = r.Next()
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrCorrupt saying %q", name, err, tc.want)
		}
	}
}

func TestPolygonsNested(t *testing.T) {
	// an exterior, a hole in it, and an island in the hole (an exterior
	// inside a hole): the island is a polygon of its own, and the hole
	// belongs to the big exterior, the smallest that contains it.
	ring := func(x, y, s float64, cw bool) []XY {
		r := []XY{{x, y}, {x, y + s}, {x + s, y + s}, {x + s, y}, {x, y}} // clockwise
		if !cw {
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
		}
		return r
	}
	s := &Shape{Type: Polygon}
	for _, r := range [][]XY{ring(4, 4, 2, true), ring(2, 2, 6, false), ring(0, 0, 10, true)} {
		s.Parts = append(s.Parts, len(s.Points))
		s.Points = append(s.Points, r...)
	}
	got := s.Polygons(nil)
	want := [][]int{{0}, {2, 1}}
	if len(got) != len(want) || len(got[0]) != 1 || got[0][0] != 0 || len(got[1]) != 2 || got[1][0] != 2 || got[1][1] != 1 {
		t.Errorf("Polygons = %v, want %v", got, want)
	}
}
