package convert

import (
	"fmt"
	"math"
	"strconv"
)

// geometryDepth is how deeply each GeoJSON geometry type nests its
// positions: 1 for a Point's [x, y], 4 for a MultiPolygon's.
var geometryDepth = map[string]int{
	"Point": 1, "MultiPoint": 2, "LineString": 2,
	"MultiLineString": 3, "Polygon": 3, "MultiPolygon": 4,
}

// coordScanner checks a GeoJSON coordinates array (valid JSON, as a
// json.RawMessage is) and appends it compacted: every position has two or
// more numbers, all finite, the first a longitude and the second a latitude
// in range, nested exactly as deep as the type says.
type coordScanner struct {
	src       []byte
	i         int
	dst       []byte
	positions int
}

// appendCoords appends raw, checked and compacted, to dst, and returns the
// number of positions (0: an empty geometry).
func appendCoords(dst, raw []byte, depth int) ([]byte, int, error) {
	s := coordScanner{src: raw, dst: dst}
	if err := s.array(1, depth); err != nil {
		return dst, 0, err
	}
	s.space()
	if s.i != len(s.src) {
		return dst, 0, invalidf("coordinates: unexpected data after the array")
	}
	return s.dst, s.positions, nil
}

func (s *coordScanner) space() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// array reads an array at nesting level (1 outermost); at level == depth
// it is a position.
func (s *coordScanner) array(level, depth int) error {
	s.space()
	if s.i >= len(s.src) || s.src[s.i] != '[' {
		if level == 1 && s.i < len(s.src) && s.src[s.i] == 'n' {
			return invalidf("coordinates are null")
		}
		return invalidf("coordinates: expected an array %d deep", depth-level+1)
	}
	s.i++
	s.dst = append(s.dst, '[')
	if level == depth {
		return s.position(level == 1)
	}
	first := true
	for {
		s.space()
		if s.i < len(s.src) && s.src[s.i] == ']' {
			s.i++
			s.dst = append(s.dst, ']')
			return nil
		}
		if !first {
			if s.i >= len(s.src) || s.src[s.i] != ',' {
				return invalidf("coordinates: expected , or ]")
			}
			s.i++
			s.dst = append(s.dst, ',')
		}
		first = false
		if err := s.array(level+1, depth); err != nil {
			return err
		}
	}
}

// position reads the numbers of a position after its '['; a Point's may
// be empty (an empty geometry).
func (s *coordScanner) position(point bool) error {
	n := 0
	for {
		s.space()
		if s.i < len(s.src) && s.src[s.i] == ']' {
			s.i++
			s.dst = append(s.dst, ']')
			break
		}
		if n > 0 {
			if s.i >= len(s.src) || s.src[s.i] != ',' {
				return invalidf("coordinates: expected , or ] in a position")
			}
			s.i++
			s.dst = append(s.dst, ',')
			s.space()
		}
		start := s.i
		for s.i < len(s.src) && isNumberByte(s.src[s.i]) {
			s.i++
		}
		num := s.src[start:s.i]
		if len(num) == 0 {
			return invalidf("coordinates: position %d: expected a number, an array is nested deeper than the type allows", s.positions+1)
		}
		if err := checkNumber(num, n); err != nil {
			return fmt.Errorf("coordinates: position %d: %w", s.positions+1, err)
		}
		n++
		s.dst = append(s.dst, num...)
	}
	if n == 0 && point {
		return nil
	}
	s.positions++
	if n < 2 {
		return invalidf("coordinates: position %d has %d numbers, needs at least 2", s.positions, n)
	}
	return nil
}

// checkNumber checks the i-th number of a position: finite, and for the
// first two a longitude or a latitude in range. Most numbers are plain
// decimals whose integer part settles it, without parsing them.
func checkNumber(num []byte, i int) error {
	limit := 0 // any finite number
	switch i {
	case 0:
		limit = 180
	case 1:
		limit = 90
	}
	if plainBelow(num, limit) {
		return nil
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return invalidf("number %s is not finite", num)
	}
	switch i {
	case 0:
		return checkLonLat(f, 0)
	case 1:
		return checkLonLat(0, f)
	}
	return nil
}

// plainBelow reports whether num is a plain decimal (no exponent) whose
// absolute value is surely below limit, or, for limit 0, surely finite.
func plainBelow(num []byte, limit int) bool {
	i := 0
	if i < len(num) && num[i] == '-' {
		i++
	}
	whole := 0
	digits := 0
	for ; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
		digits++
		if limit > 0 {
			whole = whole*10 + int(num[i]-'0')
			if whole >= limit {
				return false
			}
		}
	}
	if digits == 0 || digits > 300 {
		return false
	}
	if i < len(num) && num[i] == '.' {
		for i++; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
		}
	}
	return i == len(num)
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}
