package convert

import (
	"strconv"
	"strings"
	"testing"
)

// TestGeoJSON is one table of the shapes GeoJSON input takes, each with
// its exact output (long for its table, not for its logic).
func TestGeoJSON(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             string // the output, exactly
		skipped          int64
		nested           string // "key=count,…"
	}{
		{
			name: "feature collection", file: "a.geojson",
			data: `{"type":"FeatureCollection","name":"x","bbox":[0,0,1,1],"features":[
			  {"type":"Feature","id":7,"properties":{"a":1,"b":{"c":2},"s":"x\ny"},"geometry":{"type":"Point","coordinates":[1.5, 2.5, 30]}},
			  {"type":"Feature","geometry":null,"properties":{"n":1}},
			  {"type":"Feature","id":"road-1","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":null,"foreign":{"x":1}},
			  {"type":"Feature","geometry":{"type":"Point","coordinates":[]},"properties":{}}
			]}`,
			want: `{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[1.5,2.5,30]},"properties":{"a":1,"b":{"c":2},"s":"x\ny"}}
{"type":"Feature","id":"road-1","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{}}
`,
			skipped: 2, nested: "b=1",
		},
		{
			name: "pretty printed, members in any order", file: "b.json",
			data:   "\ufeff{\n  \"features\": [\n    {\n      \"properties\": {\"tags\": [1, 2], \"meta\": {}},\n      \"geometry\": {\n        \"coordinates\": [[[0, 0], [1, 0], [1, 1], [0, 0]]],\n        \"type\": \"Polygon\"\n      },\n      \"type\": \"Feature\"\n    }\n  ],\n  \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"urn:ogc:def:crs:OGC:1.3:CRS84\"}},\n  \"type\": \"FeatureCollection\"\n}\n",
			want:   `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"properties":{"tags":[1,2],"meta":{}}}` + "\n",
			nested: "meta=1,tags=1",
		},
		{
			name: "single feature", file: "c.geojson",
			data: `{"type":"Feature","properties":{"k":"v"},"geometry":{"type":"MultiPoint","coordinates":[[180,90],[-180,-90]]}}`,
			want: `{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[180,90],[-180,-90]]},"properties":{"k":"v"}}` + "\n",
		},
		{
			name: "bare geometry", file: "d.geojson",
			data: `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}`,
			want: `{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]},"properties":{}}` + "\n",
		},
		{
			name: "line-delimited in a .geojson", file: "e.geojson",
			data: `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}` + "\n\n" +
				`{"type":"Feature","id":2,"geometry":{"type":"Point","coordinates":[3,4]},"properties":{"x":null}}` + "\n",
			want: `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}
{"type":"Feature","id":2,"geometry":{"type":"Point","coordinates":[3,4]},"properties":{"x":null}}
`,
		},
		{
			name: "line-delimited, last line unterminated", file: "f.ldgeojson",
			data: `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}` + "\r\n" +
				`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[5,6]},"properties":{}}]}`,
			want: `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}
{"type":"Feature","geometry":{"type":"Point","coordinates":[5,6]},"properties":{}}
`,
		},
		{
			name: "RFC 8142 sequence, records over several lines", file: "g.geojsons",
			data:    "\x1e{\"type\":\"Feature\",\n\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{}}\n\x1e{\"type\":\"Feature\",\"geometry\":null,\"properties\":{}}\n",
			want:    `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}` + "\n",
			skipped: 1,
		},
		{
			name: "several objects one after another", file: "h.json",
			data: `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}} {"type":"FeatureCollection","features":[]}`,
			want: `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out, stats, err := convertFile(t, tc.file, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out, tc.want)
			}
			if stats.SkippedNoGeometry != tc.skipped {
				t.Errorf("skipped %d, want %d", stats.SkippedNoGeometry, tc.skipped)
			}
			var nested []string
			for _, kc := range stats.Nested {
				nested = append(nested, kc.Key+"="+itoa(kc.Count))
			}
			if got := strings.Join(nested, ","); got != tc.nested {
				t.Errorf("nested %q, want %q", got, tc.nested)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestGeoJSONErrors(t *testing.T) {
	point := func(c string) string {
		return `{"type":"Feature","geometry":{"type":"Point","coordinates":` + c + `},"properties":{}}`
	}
	fc := func(fs ...string) string {
		return `{"type":"FeatureCollection","features":[` + strings.Join(fs, ",") + `]}`
	}
	for _, tc := range []struct {
		name, file, data string
		sentinel         error
		parts            []string
	}{
		{"latitude out of range", "a.geojson", fc(point("[1,2]"), point("[10, 91.5]")), ErrInvalid,
			[]string{"a.geojson: feature 2 (byte ", "latitude 91.5 is out of range"}},
		{"longitude out of range, line", "a.geojsonl", point("[1,2]") + "\n" + point("[-181,0]") + "\n", ErrInvalid,
			[]string{"a.geojsonl: line 2: feature 2", "longitude -181 is out of range"}},
		{"number too large", "a.geojson", fc(point("[1e400,0]")), ErrInvalid, []string{"not finite"}},
		{"geometry collection", "a.geojson", fc(`{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]},"properties":{}}`),
			ErrUnsupported, []string{"feature 1", "GeometryCollection, which MTS does not take"}},
		{"bare geometry collection", "a.geojson", `{"type":"GeometryCollection","geometries":[]}`, ErrUnsupported, []string{"GeometryCollection"}},
		{"too shallow", "a.geojson", fc(`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[0,0],[1,1]]},"properties":{}}`),
			ErrInvalid, []string{"Polygon", "expected an array"}},
		{"too deep", "a.geojson", fc(point("[[1,2]]")), ErrInvalid, []string{"nested deeper"}},
		{"one number", "a.geojson", fc(point("[1]")), ErrInvalid, []string{"has 1 numbers, needs at least 2"}},
		{"null coordinates", "a.geojson", fc(point("null")), ErrInvalid, []string{"coordinates are null"}},
		{"unknown geometry", "a.geojson", fc(`{"type":"Feature","geometry":{"type":"Circle","coordinates":[0,0]},"properties":{}}`),
			ErrInvalid, []string{`unknown geometry type "Circle"`}},
		{"properties array", "a.geojson", fc(`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":[1]}`),
			ErrInvalid, []string{"properties must be an object"}},
		{"id object", "a.geojson", fc(`{"type":"Feature","id":{"a":1},"geometry":{"type":"Point","coordinates":[0,0]},"properties":{}}`),
			ErrInvalid, []string{"id must be a string or a number"}},
		{"not a feature", "a.geojson", fc(`{"type":"Topology"}`), ErrInvalid, []string{`type is "Topology"`}},
		{"projected crs", "a.geojson", `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}`,
			ErrUnsupported, []string{"EPSG::3857", "not lon/lat WGS84"}},
		{"truncated", "a.geojson", `{"type":"FeatureCollection","features":[` + point("[1,2]"), ErrInvalid, []string{"a.geojson"}},
		{"syntax", "a.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature",,}]}`, ErrInvalid, []string{"feature 1", "invalid character"}},
		{"empty", "a.geojson", "  \n", ErrInvalid, []string{"no GeoJSON object"}},
		{"array at top", "a.geojson", "[1,2]", ErrInvalid, []string{"expected a GeoJSON object"}},
		{"features in a feature", "a.geojson", `{"type":"Feature","features":[]}`, ErrInvalid, []string{`"features" in an object of type "Feature"`}},
		{"bad line", "a.ndjson", point("[1,2]") + "\n{oops}\n", ErrInvalid, []string{"line 2: feature 2", "invalid character"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := convertFile(t, tc.file, tc.data)
			wantError(t, err, tc.sentinel, tc.parts...)
		})
	}
}

func TestGeoJSONWarnsAboutEmptyCollection(t *testing.T) {
	_, _, stats, err := convertFile(t, "a.geojson", `{"type":"FeatureCollection"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Warnings) != 1 || !strings.Contains(stats.Warnings[0], "without \"features\"") {
		t.Errorf("warnings %q", stats.Warnings)
	}
}

// TestNestedBounded: the nested keys listed stop at MaxNestedKeys; the
// rest are counted.
func TestNestedBounded(t *testing.T) {
	var b strings.Builder
	for i := range MaxNestedKeys + 10 {
		b.WriteString(`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"k` + strconv.Itoa(i) + `":[1],"k0":{}}}` + "\n")
	}
	_, _, stats, err := convertFile(t, "a.geojsonl", b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(stats.Nested) != MaxNestedKeys || stats.NestedOther != 10 {
		t.Errorf("%d nested keys listed and %d others, want %d and 10", len(stats.Nested), stats.NestedOther, MaxNestedKeys)
	}
	if stats.Nested[0] != (KeyCount{"k0", MaxNestedKeys + 11}) {
		t.Errorf("most frequent %+v, want k0 first", stats.Nested[0])
	}
}

func TestGeoJSONInvalidUTF8(t *testing.T) {
	_, out, stats, err := convertFile(t, "a.geojsonl",
		"{\"type\":\"Feature\",\"id\":\"a\xff\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{\"k\xfe\":\"caf\xe9\"}}\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"type\":\"Feature\",\"id\":\"a\uFFFD\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{\"k\uFFFD\":\"caf\uFFFD\"}}" + "\n"
	if out != want || len(stats.Warnings) != 1 {
		t.Errorf("got %s (warnings %q), want %s", out, stats.Warnings, want)
	}
}
