package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tilesyncd/tilesyncd/convert/shapefile"
)

// testShape is a record to write: parts of points (one part for points).
type testShape struct {
	typ   shapefile.ShapeType
	parts [][][2]float64
}

// testField is a .dbf column to write.
type testField struct {
	name     string
	typ      byte
	length   int
	decimals int
}

// shpBytes encodes shapes as a .shp of the type typ (Z and M variants get
// zeros for Z and M).
func shpBytes(typ shapefile.ShapeType, shapes []testShape) []byte {
	var body bytes.Buffer
	le := binary.LittleEndian
	for i, s := range shapes {
		var c bytes.Buffer
		binary.Write(&c, le, int32(s.typ))
		var pts [][2]float64
		for _, p := range s.parts {
			pts = append(pts, p...)
		}
		hasZ := s.typ == shapefile.PointZ || s.typ == shapefile.PolyLineZ || s.typ == shapefile.PolygonZ || s.typ == shapefile.MultiPointZ
		hasM := hasZ || s.typ == shapefile.PointM || s.typ == shapefile.PolyLineM || s.typ == shapefile.PolygonM || s.typ == shapefile.MultiPointM
		switch s.typ.Base() {
		case shapefile.Point:
			binary.Write(&c, le, pts[0])
			if hasZ {
				binary.Write(&c, le, 0.0)
			}
			if hasM {
				binary.Write(&c, le, 0.0)
			}
		case shapefile.MultiPoint, shapefile.PolyLine, shapefile.Polygon:
			binary.Write(&c, le, [4]float64{})
			if s.typ.Base() != shapefile.MultiPoint {
				binary.Write(&c, le, int32(len(s.parts)))
			}
			binary.Write(&c, le, int32(len(pts)))
			if s.typ.Base() != shapefile.MultiPoint {
				start := 0
				for _, p := range s.parts {
					binary.Write(&c, le, int32(start))
					start += len(p)
				}
			}
			binary.Write(&c, le, pts)
			for range btoi(hasZ) + btoi(hasM) {
				binary.Write(&c, le, [2]float64{})
				binary.Write(&c, le, make([]float64, len(pts)))
			}
		}
		binary.Write(&body, binary.BigEndian, [2]int32{int32(i + 1), int32(c.Len() / 2)})
		body.Write(c.Bytes())
	}
	var h [100]byte
	binary.BigEndian.PutUint32(h[0:], 9994)
	binary.BigEndian.PutUint32(h[24:], uint32((100+body.Len())/2))
	le.PutUint32(h[28:], 1000)
	le.PutUint32(h[32:], uint32(typ))
	return append(h[:], body.Bytes()...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dbfBytes encodes records (one string per field, padded; a leading '*'
// in the first field's value marks the record deleted) as a .dbf.
func dbfBytes(ldid byte, fields []testField, records [][]string) []byte {
	recLen := 1
	for _, f := range fields {
		recLen += f.length
	}
	headerLen := 32 + 32*len(fields) + 1
	var b bytes.Buffer
	h := make([]byte, 32)
	h[0] = 3
	binary.LittleEndian.PutUint32(h[4:], uint32(len(records)))
	binary.LittleEndian.PutUint16(h[8:], uint16(headerLen))
	binary.LittleEndian.PutUint16(h[10:], uint16(recLen))
	h[29] = ldid
	b.Write(h)
	for _, f := range fields {
		d := make([]byte, 32)
		copy(d, f.name)
		d[11], d[16], d[17] = f.typ, byte(f.length), byte(f.decimals)
		b.Write(d)
	}
	b.WriteByte(0x0D)
	for _, r := range records {
		flag := byte(' ')
		for i, f := range fields {
			v := r[i]
			if i == 0 && len(v) > 0 && v[0] == '*' {
				flag, v = '*', v[1:]
			}
			if i == 0 {
				b.WriteByte(flag)
			}
			cell := []byte(fmt.Sprintf("%-*s", f.length, v))
			if f.typ == 'N' || f.typ == 'F' {
				cell = []byte(fmt.Sprintf("%*s", f.length, v))
			}
			b.Write(cell[:f.length])
		}
	}
	b.WriteByte(0x1A)
	return b.Bytes()
}

// writeShapefile writes name.shp, .dbf and, when given, .prj and .cpg in dir.
func writeShapefile(t *testing.T, dir, name string, typ shapefile.ShapeType, shapes []testShape, fields []testField, records [][]string, prj, cpg string) string {
	t.Helper()
	files := map[string][]byte{".shp": shpBytes(typ, shapes), ".dbf": dbfBytes(0, fields, records)}
	if prj != "" {
		files[".prj"] = []byte(prj)
	}
	if cpg != "" {
		files[".cpg"] = []byte(cpg)
	}
	for ext, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name+ext), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name+".shp")
}

// square returns a closed ring, clockwise when cw.
func square(x, y, size float64, cw bool) [][2]float64 {
	r := [][2]float64{{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}, {x, y}}
	if cw {
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
	}
	return r
}

// WKT as GDAL writes .prj files (ESRI WKT1).
const (
	esriWGS84 = `GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`
	esri27700 = `PROJCS["British_National_Grid",GEOGCS["GCS_OSGB_1936",DATUM["D_OSGB_1936",SPHEROID["Airy_1830",6377563.396,299.3249646]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",400000.0],PARAMETER["False_Northing",-100000.0],PARAMETER["Central_Meridian",-2.0],PARAMETER["Scale_Factor",0.9996012717],PARAMETER["Latitude_Of_Origin",49.0],UNIT["Meter",1.0]]`
)
