package convert

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The column names that hold a point's coordinates, as the Uploads API
// recognises them (Mapbox's "CSV file errors" guide), in order of
// preference, matched without regard to case or surrounding spaces.
var (
	latColumns = []string{"latitude", "lat", "y"}
	lonColumns = []string{"longitude", "lon", "lng", "long", "x"}
)

// convertCSV reads a CSV of points, one feature a row. The header names
// the columns; the latitude and longitude columns make the point and the
// others its properties: a value in JSON's number grammar is written as a
// number, any other as a string, an empty one not at all. A row whose
// latitude and longitude are both empty has no geometry (skipped and
// counted); one with only one of them, or with a coordinate that is not a
// number in range, is an error naming its line. Comma is the separator;
// a header with no comma but semicolons or tabs selects those instead.
func convertCSV(src *source, br *bufio.Reader, o *output) error {
	r := csv.NewReader(br)
	r.ReuseRecord = true
	r.Comma = csvSeparator(br)
	names, lat, lon, err := csvHeader(r)
	if err != nil {
		return src.fail(at{line: 1, offset: -1}, err)
	}
	var row int64
	g := &geom{}
	for {
		start := r.InputOffset()
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		row++
		if err != nil {
			return src.fail(csvAt(err, row), err)
		}
		line, _ := r.FieldPos(0)
		where := at{line: line, feature: row, offset: start}
		latS, lonS := strings.TrimSpace(rec[lat]), strings.TrimSpace(rec[lon])
		if latS == "" && lonS == "" {
			o.skip()
			continue
		}
		y, err := parseCoord(names[lat], latS)
		if err != nil {
			return src.fail(where, err)
		}
		x, err := parseCoord(names[lon], lonS)
		if err != nil {
			return src.fail(where, err)
		}
		g.reset()
		g.point(x, y)
		o.begin(nil)
		if o.line, err = appendGeom(o.line, g); err != nil {
			return src.fail(where, err)
		}
		o.beginProps()
		for i, v := range rec {
			if i == lat || i == lon || v == "" {
				continue
			}
			if !utf8.ValidString(v) {
				return src.fail(where, invalidf("column %q is not UTF-8 (Mapbox takes UTF-8 CSV only)", names[i]))
			}
			if t := strings.TrimSpace(v); isJSONNumber(t) {
				o.raw(names[i], t)
			} else {
				o.str(names[i], v)
			}
		}
		if err := o.endProps(); err != nil {
			return err
		}
	}
}

// csvHeader reads the column names and finds the coordinate columns.
func csvHeader(r *csv.Reader) (names []string, lat, lon int, err error) {
	header, err := r.Read()
	if err == io.EOF {
		return nil, 0, 0, invalidf("empty CSV: the first line must name the columns")
	}
	if err != nil {
		return nil, 0, 0, err
	}
	names = make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if !utf8.ValidString(h) {
			return nil, 0, 0, invalidf("column %d's name is not UTF-8 (Mapbox takes UTF-8 CSV only)", i+1)
		}
		if h == "" {
			h = fmt.Sprintf("column_%d", i+1)
		}
		names[i] = h
	}
	lat, lon = findColumn(names, latColumns), findColumn(names, lonColumns)
	switch {
	case lat < 0:
		return nil, 0, 0, invalidf("no latitude column (the header needs one of %s)", strings.Join(latColumns, ", "))
	case lon < 0:
		return nil, 0, 0, invalidf("no longitude column (the header needs one of %s)", strings.Join(lonColumns, ", "))
	}
	return names, lat, lon, nil
}

// csvSeparator peeks at the header line: comma, unless it has none and
// has semicolons or tabs.
func csvSeparator(br *bufio.Reader) rune {
	head, _ := br.Peek(br.Size())
	line, _, _ := bytes.Cut(head, []byte("\n"))
	switch {
	case bytes.IndexByte(line, ',') >= 0:
		return ','
	case bytes.IndexByte(line, ';') >= 0:
		return ';'
	case bytes.IndexByte(line, '\t') >= 0:
		return '\t'
	}
	return ','
}

func csvAt(err error, row int64) at {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return at{line: pe.Line, feature: row, offset: -1}
	}
	return at{feature: row, offset: -1}
}

// findColumn returns the index of the first of wanted (in its order of
// preference) among names, or -1.
func findColumn(names, wanted []string) int {
	for _, w := range wanted {
		for i, n := range names {
			if strings.EqualFold(n, w) {
				return i
			}
		}
	}
	return -1
}

func parseCoord(column, s string) (float64, error) {
	if s == "" {
		return 0, invalidf("column %q is empty while the other coordinate is not", column)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, invalidf("column %q: %q is not a number", column, s)
	}
	return f, nil
}
