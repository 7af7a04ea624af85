package convert

import (
	"strings"
	"testing"
)

func TestCSV(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
		skipped          int64
	}{
		{
			name:    "latitude and longitude, numbers and strings",
			data:    "name,Latitude,LONGITUDE,pop,zip,note\nZürich,47.3769,8.5417,415367,08001,\"a, b\"\nNowhere,,,1,,\n",
			want:    `{"type":"Feature","geometry":{"type":"Point","coordinates":[8.5417,47.3769]},"properties":{"name":"Zürich","pop":415367,"zip":"08001","note":"a, b"}}` + "\n",
			skipped: 1,
		},
		{
			name: "lat and lng, quoted multi-line value, BOM",
			data: "\ufefflat,lng,desc\r\n-33.5,151.25,\"two\nlines\"\r\n",
			want: `{"type":"Feature","geometry":{"type":"Point","coordinates":[151.25,-33.5]},"properties":{"desc":"two\nlines"}}` + "\n",
		},
		{
			name: "x and y",
			data: "id,x,y\n12,-122.5,37.75\n",
			want: `{"type":"Feature","geometry":{"type":"Point","coordinates":[-122.5,37.75]},"properties":{"id":12}}` + "\n",
		},
		{
			name: "lat, long preferred to x; semicolons",
			data: "x;lat;long;v\n99;10;20;1.5e3\n",
			want: `{"type":"Feature","geometry":{"type":"Point","coordinates":[20,10]},"properties":{"x":99,"v":1.5e3}}` + "\n",
		},
		{
			name: "duplicate and empty column names",
			data: "lat,lon,a,a,\n1,2,x,y,z\n",
			want: `{"type":"Feature","geometry":{"type":"Point","coordinates":[2,1]},"properties":{"a":"x","a_2":"y","column_5":"z"}}` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out, stats, err := convertFile(t, "points.csv", tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out, tc.want)
			}
			if stats.SkippedNoGeometry != tc.skipped {
				t.Errorf("skipped %d, want %d", stats.SkippedNoGeometry, tc.skipped)
			}
		})
	}
}

func TestCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		parts      []string
	}{
		{"no latitude", "name,lon\na,1\n", []string{"points.csv: line 1", "no latitude column", "latitude, lat, y"}},
		{"no longitude", "lat,name\n1,a\n", []string{"no longitude column (the header needs one of longitude, lon, lng, long, x)"}},
		{"not a number", "lat,lon\n1,2\n\"3\",north\n", []string{"line 3: feature 2", `column "lon": "north" is not a number`}},
		{"half empty", "lat,lon\n1,\n", []string{"line 2: feature 1", `column "lon" is empty while the other coordinate is not`}},
		{"out of range", "lat,lon\n100,2\n", []string{"latitude 100 is out of range"}},
		{"NaN", "lat,lon\nNaN,2\n", []string{"not finite"}},
		{"wrong field count", "lat,lon\n1,2,3\n", []string{"line 2", "wrong number of fields"}},
		{"bad quote", "lat,lon\n1,\"2\n", []string{"extraneous or missing \" in quoted-field"}},
		{"latin-1", "lat,lon,name\n1,2,caf\xe9\n", []string{`column "name" is not UTF-8`}},
		{"empty", "", []string{"empty CSV"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := convertFile(t, "points.csv", tc.data)
			wantError(t, err, ErrInvalid, tc.parts...)
		})
	}
}

func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "1.5": true, "-1.5e-3": true, "1E+9": true,
		"": false, "01": false, "+1": false, "1.": false, ".5": false, "1e": false, "0x10": false,
		"NaN": false, "Inf": false, "1 ": false, "--1": false, "1.5.5": false, strings.Repeat("9", 400): false, strings.Repeat("9", 30): true,
	} {
		if got := isJSONNumber(s); got != want {
			t.Errorf("isJSONNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
