package convert

import (
	"fmt"
	"math"
	"strconv"
)

// geom is a geometry read from a format other than GeoJSON, kept flat so
// that one value serves every feature of a file without allocating again.
// Every format adds pieces (points, lines, polygons); the piece kinds seen
// decide the GeoJSON type: one kind only, or the geometry would be a
// GeometryCollection, which MTS does not take.
type geom struct {
	xy    []float64 // lon, lat pairs
	rings []int     // end (in points) of each line or ring
	polys []int     // end (in rings) of each polygon
	kinds [3]int    // pieces added: points, lines, polygons
}

const (
	pieceP = iota
	pieceL
	pieceA
)

func (g *geom) reset() {
	g.xy, g.rings, g.polys = g.xy[:0], g.rings[:0], g.polys[:0]
	g.kinds = [3]int{}
}

func (g *geom) add(x, y float64) { g.xy = append(g.xy, x, y) }

// point adds a point piece.
func (g *geom) point(x, y float64) {
	g.add(x, y)
	g.kinds[pieceP]++
}

// endLine ends a line piece made of the points added since the last end.
// A line of fewer than two points is dropped.
func (g *geom) endLine() {
	if g.dropShort(2) {
		return
	}
	g.rings = append(g.rings, len(g.xy)/2)
	g.kinds[pieceL]++
}

// endRing ends a ring of the polygon being built; a ring of fewer than
// four points (three before closing) is dropped. It closes the ring.
func (g *geom) endRing() {
	if g.dropShort(3) {
		return
	}
	n := len(g.xy)
	first := g.lastEnd() * 2
	if g.xy[first] != g.xy[n-2] || g.xy[first+1] != g.xy[n-1] {
		g.add(g.xy[first], g.xy[first+1])
	}
	g.rings = append(g.rings, len(g.xy)/2)
}

// endPolygon ends a polygon piece made of the rings ended since the last
// one (the first its exterior); a polygon without rings is dropped.
func (g *geom) endPolygon() {
	start := 0
	if len(g.polys) > 0 {
		start = g.polys[len(g.polys)-1]
	}
	if len(g.rings) == start {
		return
	}
	g.polys = append(g.polys, len(g.rings))
	g.kinds[pieceA]++
}

// lastEnd is where the piece being added starts, in points.
func (g *geom) lastEnd() int {
	if len(g.rings) == 0 {
		return 0
	}
	return g.rings[len(g.rings)-1]
}

// dropShort removes the points added since the last end when there are
// fewer than n of them, and reports whether it did.
func (g *geom) dropShort(n int) bool {
	start := g.lastEnd()
	if len(g.xy)/2-start >= n {
		return false
	}
	g.xy = g.xy[:start*2]
	return true
}

// empty reports whether nothing was added.
func (g *geom) empty() bool { return g.kinds == [3]int{} }

// typeName returns the GeoJSON type, or an error for mixed pieces.
func (g *geom) typeName() (string, error) {
	p, l, a := g.kinds[pieceP], g.kinds[pieceL], g.kinds[pieceA]
	switch {
	case l == 0 && a == 0:
		if p == 1 {
			return "Point", nil
		}
		return "MultiPoint", nil
	case p == 0 && a == 0:
		if l == 1 {
			return "LineString", nil
		}
		return "MultiLineString", nil
	case p == 0 && l == 0:
		if a == 1 {
			return "Polygon", nil
		}
		return "MultiPolygon", nil
	}
	return "", unsupportedf("mixed geometry (%d points, %d lines, %d polygons) would be a GeometryCollection, which MTS does not take: split it into features of one geometry type", p, l, a)
}

// appendGeom appends g as a GeoJSON geometry, after checking every
// coordinate. Rings are written exterior counterclockwise and holes
// clockwise (RFC 7946 §3.1.6), whatever their order in the source.
func appendGeom(dst []byte, g *geom) ([]byte, error) {
	typ, err := g.typeName()
	if err != nil {
		return dst, err
	}
	for i := 0; i < len(g.xy); i += 2 {
		if err := checkLonLat(g.xy[i], g.xy[i+1]); err != nil {
			return dst, fmt.Errorf("%s position %d: %w", typ, i/2+1, err)
		}
	}
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","coordinates":`...)
	switch typ {
	case "Point":
		dst = appendPosition(dst, g.xy[0], g.xy[1])
	case "MultiPoint", "LineString":
		dst = g.appendRun(dst, 0, len(g.xy)/2, false)
	case "MultiLineString":
		dst = g.appendRings(dst, 0, len(g.rings), false)
	case "Polygon":
		dst = g.appendRings(dst, 0, len(g.rings), true)
	case "MultiPolygon":
		dst = append(dst, '[')
		start := 0
		for i, end := range g.polys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = g.appendRings(dst, start, end, true)
			start = end
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

// appendRings appends rings [from, to) as an array; for a polygon the
// first is made counterclockwise and the others clockwise.
func (g *geom) appendRings(dst []byte, from, to int, polygon bool) []byte {
	dst = append(dst, '[')
	for r := from; r < to; r++ {
		if r > from {
			dst = append(dst, ',')
		}
		start := 0
		if r > 0 {
			start = g.rings[r-1]
		}
		end := g.rings[r]
		reverse := false
		if polygon {
			ccw := g.signedArea(start, end) > 0
			reverse = ccw != (r == from)
		}
		dst = g.appendRun(dst, start, end, reverse)
	}
	return append(dst, ']')
}

// signedArea is twice the signed area of the ring of points [start, end):
// positive when counterclockwise.
func (g *geom) signedArea(start, end int) float64 {
	var a float64
	for i := start; i < end-1; i++ {
		a += g.xy[2*i]*g.xy[2*i+3] - g.xy[2*i+2]*g.xy[2*i+1]
	}
	return a
}

func (g *geom) appendRun(dst []byte, start, end int, reverse bool) []byte {
	dst = append(dst, '[')
	for i := start; i < end; i++ {
		if i > start {
			dst = append(dst, ',')
		}
		j := i
		if reverse {
			j = end - 1 - (i - start)
		}
		dst = appendPosition(dst, g.xy[2*j], g.xy[2*j+1])
	}
	return append(dst, ']')
}

func appendPosition(dst []byte, x, y float64) []byte {
	dst = append(dst, '[')
	dst = appendFloat(dst, x)
	dst = append(dst, ',')
	dst = appendFloat(dst, y)
	return append(dst, ']')
}

// appendFloat formats f as encoding/json does: the shortest decimal that
// reads back the same, in exponent form only for very small or large values.
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst) - start
		if n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

// checkLonLat refuses a position that is not a finite longitude and latitude.
func checkLonLat(x, y float64) error {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0):
		return invalidf("coordinate [%g, %g] is not finite", x, y)
	case x < -180 || x > 180:
		return invalidf("longitude %g is out of range [-180, 180] (is the data in lon/lat WGS84, and lon before lat?)", x)
	case y < -90 || y > 90:
		return invalidf("latitude %g is out of range [-90, 90] (is the data in lon/lat WGS84, and lon before lat?)", y)
	}
	return nil
}
