package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/tilesyncd/tilesyncd/convert/crs"
	"github.com/tilesyncd/tilesyncd/convert/shapefile"
)

// convertShapefile reads a shapefile's .shp and .dbf in step, record by
// record: one feature a record, its geometry reprojected to WGS84 by the
// .prj (a shapefile without one is taken as lon/lat WGS84, with a
// warning) and its attributes as properties (null values written as null).
// Records with a null shape are skipped and counted; records the .dbf
// marks deleted are dropped, with a warning giving their number.
func convertShapefile(ctx context.Context, in shapefileInput, o *output) error {
	shpSrc := &source{ctx: ctx, r: in.shp, name: in.name}
	dbfSrc := &source{ctx: ctx, r: in.dbf, name: in.name}
	fail := func(where at, err error) error {
		if dbfSrc.err != nil {
			return dbfSrc.fail(where, err)
		}
		return shpSrc.fail(where, err)
	}
	nowhere := at{offset: -1}
	c, err := shapefileCRS(in.prj, o, in.name)
	if err != nil {
		return fail(nowhere, err)
	}
	sr, err := shapefile.NewReader(shpSrc, in.shpSize)
	if err != nil {
		return fail(nowhere, err)
	}
	if sr.Type == shapefile.MultiPatch {
		return fail(nowhere, unsupportedf("a shapefile of MultiPatch shapes (3D surfaces) has no GeoJSON equivalent"))
	}
	dbf, err := shapefile.NewDBF(dbfSrc, string(in.cpg))
	if err != nil {
		return fail(nowhere, fmt.Errorf(".dbf: %w", err))
	}
	for _, f := range dbf.Skipped() {
		o.warnf("%s: field %s of type %c (memo or binary) is not read; its values are null", in.name, f.Name, f.Type)
	}
	var (
		g       geom
		polys   [][]int
		deleted int64
	)
	for {
		shape, err := sr.Next()
		where := at{feature: int64(sr.Record()), offset: sr.Offset()}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(where, err)
		}
		values, del, err := dbf.Next()
		if err == io.EOF {
			return fail(where, invalidf("the .dbf has %d records, the .shp more", sr.Record()-1))
		}
		if err != nil {
			return fail(where, fmt.Errorf(".dbf: %w", err))
		}
		if del {
			deleted++
			continue
		}
		if len(shape.Points) == 0 {
			o.skip()
			continue
		}
		shapeGeom(&g, shape, c, &polys)
		if g.empty() {
			o.skip()
			continue
		}
		if err := writeRecord(o, &g, dbf.Fields, values); err != nil {
			return fail(where, err)
		}
	}
	if deleted > 0 {
		o.warnf("%s: %d records marked deleted in the .dbf were left out", in.name, deleted)
	}
	if _, _, err := dbf.Next(); err == nil {
		o.warnf("%s: the .dbf has more records than the .shp; the extra ones were ignored", in.name)
	}
	return nil
}

// shapefileCRS reads the .prj; nil when the positions are lon/lat already.
func shapefileCRS(prj []byte, o *output, name string) (*crs.CRS, error) {
	if prj == nil {
		o.warnf("%s: no .prj; coordinates are taken as longitude/latitude WGS84", name)
		return nil, nil
	}
	c, err := crs.Parse(string(prj))
	switch {
	case errors.Is(err, crs.ErrUnsupported):
		return nil, &kindError{ErrUnsupported, fmt.Errorf(".prj: %w", err)}
	case err != nil:
		return nil, invalidf(".prj: %v", err)
	}
	if c.Note != "" {
		o.warnf("%s: %s", name, c.Note)
	}
	if c.Identity() {
		return nil, nil
	}
	return c, nil
}

// shapeGeom fills g with a shape's geometry, reprojected by c (nil: none).
func shapeGeom(g *geom, s *shapefile.Shape, c *crs.CRS, polys *[][]int) {
	g.reset()
	if s.Type == shapefile.Polygon {
		*polys = s.Polygons(*polys) // grouped in the source's plane
	}
	if c != nil {
		// Rounded to 1e-9 degrees (0.1 mm): the inverse's last bits are
		// noise, and would print as 47.199999999999996 for 47.2.
		for i, p := range s.Points {
			lon, lat := c.ToWGS84(p.X, p.Y)
			s.Points[i].X, s.Points[i].Y = math.Round(lon*1e9)/1e9, math.Round(lat*1e9)/1e9
		}
	}
	switch s.Type {
	case shapefile.Point, shapefile.MultiPoint:
		for _, p := range s.Points {
			g.point(p.X, p.Y)
		}
	case shapefile.PolyLine:
		for i := range s.Parts {
			for _, p := range s.Part(i) {
				g.add(p.X, p.Y)
			}
			g.endLine()
		}
	case shapefile.Polygon:
		for _, rings := range *polys {
			for _, r := range rings {
				for _, p := range s.Part(r) {
					g.add(p.X, p.Y)
				}
				g.endRing()
			}
			g.endPolygon()
		}
	}
}

// writeRecord writes a feature of geometry g and the record's values.
func writeRecord(o *output, g *geom, fields []shapefile.Field, values []shapefile.Value) error {
	o.begin(nil)
	var err error
	if o.line, err = appendGeom(o.line, g); err != nil {
		return fmt.Errorf("geometry: %w", err)
	}
	o.beginProps()
	var num []byte
	for i, f := range fields {
		switch v := values[i]; v.Kind {
		case shapefile.KindNull:
			o.raw(f.Name, "null")
		case shapefile.KindString:
			o.str(f.Name, v.Text)
		case shapefile.KindBool:
			o.raw(f.Name, map[bool]string{true: "true", false: "false"}[v.Bool])
		case shapefile.KindNumber:
			if isJSONInteger(v.Text) { // exact, even past 2^53
				o.raw(f.Name, v.Text)
			} else {
				num = appendFloat(num[:0], v.Num)
				o.raw(f.Name, string(num))
			}
		}
	}
	return o.endProps()
}

// isJSONInteger reports whether s is an integer in JSON's grammar.
func isJSONInteger(s string) bool {
	return isJSONNumber(s) && !strings.ContainsAny(s, ".eE")
}
