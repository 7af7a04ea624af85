package shapefile

import "math"

// Polygons groups a Polygon shape's rings into polygons, by the
// shapefile's convention: a clockwise ring is an exterior and starts a
// polygon; a counterclockwise ring is a hole of the smallest exterior that
// contains it. A hole that no exterior contains becomes an exterior of its
// own, as GDAL reads it. It returns the ring (part) indices of each
// polygon, exterior first, in dst's storage.
func (s *Shape) Polygons(dst [][]int) [][]int {
	dst = dst[:0]
	type ext struct {
		ring int
		area float64
		box  [4]float64
	}
	var exts []ext
	var holes []int
	for i := range s.Parts {
		a := ringArea(s.Part(i))
		if a <= 0 { // clockwise (or degenerate): an exterior
			exts = append(exts, ext{ring: i, area: -a, box: bbox(s.Part(i))})
			continue
		}
		holes = append(holes, i)
	}
	owner := make([]int, len(holes)) // index in exts, or -1
	for h, ring := range holes {
		owner[h] = -1
		pts := s.Part(ring)
		hb := bbox(pts)
		best := -1
		for e := range exts {
			if !within(hb, exts[e].box) {
				continue
			}
			if len(exts) > 1 && !inside(pts[0], s.Part(exts[e].ring)) {
				continue
			}
			if best < 0 || exts[e].area < exts[best].area {
				best = e
			}
		}
		owner[h] = best
	}
	for e := range exts {
		poly := append(grow(dst), exts[e].ring)
		for h, o := range owner {
			if o == e {
				poly = append(poly, holes[h])
			}
		}
		dst = append(dst, poly)
	}
	for h, o := range owner {
		if o < 0 {
			dst = append(dst, append(grow(dst), holes[h]))
		}
	}
	return dst
}

// grow returns the storage of dst's next element, if it had one, emptied.
func grow(dst [][]int) []int {
	if len(dst) < cap(dst) {
		return dst[:len(dst)+1][len(dst)][:0]
	}
	return nil
}

// ringArea is twice the signed area of a ring: negative when clockwise.
func ringArea(pts []XY) float64 {
	var a float64
	for i := 0; i+1 < len(pts); i++ {
		a += pts[i].X*pts[i+1].Y - pts[i+1].X*pts[i].Y
	}
	if n := len(pts); n > 1 && pts[0] != pts[n-1] {
		a += pts[n-1].X*pts[0].Y - pts[0].X*pts[n-1].Y
	}
	return a
}

func bbox(pts []XY) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range pts {
		b[0], b[1] = min(b[0], p.X), min(b[1], p.Y)
		b[2], b[3] = max(b[2], p.X), max(b[3], p.Y)
	}
	return b
}

func within(in, out [4]float64) bool {
	return in[0] >= out[0] && in[1] >= out[1] && in[2] <= out[2] && in[3] <= out[3]
}

// inside reports whether p is inside ring (even-odd rule).
func inside(p XY, ring []XY) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		a, b := ring[i], ring[j]
		if (a.Y > p.Y) != (b.Y > p.Y) && p.X < (b.X-a.X)*(p.Y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}
