package convert

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/convert/shapefile"
)

// TestShapefileMatchesGDAL converts shapefiles that GDAL 3.6.2 wrote
// (testdata/README.md) and compares with GDAL's own reading of them,
// reprojected to EPSG:4326 by PROJ (ogr2ogr -f GeoJSONSeq -t_srs EPSG:4326).
func TestShapefileMatchesGDAL(t *testing.T) {
	for _, name := range []string{"poly_3857.zip", "lines_32632.shp", "lines_nocpg.shp", "poly_2154.shp"} {
		t.Run(name, func(t *testing.T) {
			got, _, _, err := convertPath(t, Input{Path: filepath.Join("testdata", name)})
			if err != nil {
				t.Fatal(err)
			}
			want := readGDAL(t, filepath.Join("testdata", strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".shp")+".gdal.geojsonl"))
			if len(got) != len(want) {
				t.Fatalf("%d features, GDAL reads %d", len(got), len(want))
			}
			for i := range got {
				if got[i].Geometry.Type != want[i].Geometry.Type || !sameCoords(positions(t, got[i].Geometry), positions(t, want[i].Geometry), 1e-9) {
					t.Errorf("feature %d: geometry %s %s\nGDAL: %s %s", i+1, got[i].Geometry.Type, got[i].Geometry.Coordinates, want[i].Geometry.Type, want[i].Geometry.Coordinates)
				}
				if g, w := normalizeProps(got[i].Properties), normalizeProps(want[i].Properties); !reflect.DeepEqual(g, w) {
					t.Errorf("feature %d: properties %v, GDAL: %v", i+1, g, w)
				}
			}
		})
	}
}

func readGDAL(t *testing.T, path string) []feature {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []feature
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ft feature
		if err := json.Unmarshal(sc.Bytes(), &ft); err != nil {
			t.Fatal(err)
		}
		out = append(out, ft)
	}
	return out
}

// normalizeProps makes numbers float64 whatever their decoding.
func normalizeProps(p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		if n, ok := v.(json.Number); ok {
			v, _ = n.Float64()
		}
		out[k] = v
	}
	return out
}

var attrFields = []testField{{"NAME", 'C', 12, 0}, {"POP", 'N', 10, 0}, {"AREA", 'F', 12, 4}, {"OK", 'L', 1, 0}, {"DAY", 'D', 8, 0}, {"NOTE", 'M', 10, 0}}

func TestShapefileRecords(t *testing.T) {
	dir := t.TempDir()
	shapes := []testShape{
		{shapefile.PointZ, [][][2]float64{{{8.5, 47.3}}}},
		{shapefile.Null, nil},
		{shapefile.PointZ, [][][2]float64{{{1, 2}}}},
		{shapefile.PointZ, [][][2]float64{{{-179.5, -89.5}}}},
	}
	records := [][]string{
		{"caf\xe9", "415367", "87.8800", "T", "20240229", "0000000001"},
		{"null shape", "1", "", "?", "", ""},
		{"*deleted", "2", "1.5", "F", "20240101", ""},
		{"", "", "-1.2500", "n", "00000000", ""},
	}
	shp := writeShapefile(t, dir, "points", shapefile.PointZ, shapes, attrFields, records, "", "")
	_, out, stats, err := convertPath(t, Input{Path: shp})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"Feature","geometry":{"type":"Point","coordinates":[8.5,47.3]},"properties":{"NAME":"café","POP":415367,"AREA":87.88,"OK":true,"DAY":"2024-02-29","NOTE":null}}
{"type":"Feature","geometry":{"type":"Point","coordinates":[-179.5,-89.5]},"properties":{"NAME":null,"POP":null,"AREA":-1.25,"OK":false,"DAY":null,"NOTE":null}}
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if stats.SkippedNoGeometry != 1 || stats.Features != 2 {
		t.Errorf("stats %+v", stats)
	}
	wantWarnings := []string{"no .prj; coordinates are taken as longitude/latitude WGS84", "field NOTE of type M (memo or binary) is not read", "1 records marked deleted in the .dbf were left out"}
	if len(stats.Warnings) != len(wantWarnings) {
		t.Fatalf("warnings %q", stats.Warnings)
	}
	for i, w := range wantWarnings {
		if !strings.Contains(stats.Warnings[i], w) {
			t.Errorf("warning %q does not say %q", stats.Warnings[i], w)
		}
	}
}

// TestShapefilePolygons: rings are grouped by orientation and containment,
// whatever their order, and written exterior counterclockwise.
func TestShapefilePolygons(t *testing.T) {
	dir := t.TempDir()
	shapes := []testShape{
		// two exteriors (clockwise), then the second's hole, then the first's
		{shapefile.PolygonM, [][][2]float64{square(0, 0, 10, true), square(20, 0, 10, true), square(22, 2, 2, false), square(2, 2, 2, false)}},
		// a hole that no exterior contains: an exterior of its own
		{shapefile.Polygon, [][][2]float64{square(0, 0, 1, true), square(5, 5, 1, false)}},
		// one exterior, written counterclockwise as it should be after the flip
		{shapefile.Polygon, [][][2]float64{square(0, 0, 1, true)}},
	}
	records := [][]string{{"a"}, {"b"}, {"c"}}
	shp := writeShapefile(t, dir, "polys", shapefile.PolygonM, shapes, []testField{{"N", 'C', 1, 0}}, records, esriWGS84, "UTF-8")
	fs, _, _, err := convertPath(t, Input{Path: shp})
	if err != nil {
		t.Fatal(err)
	}
	wantCoords := []string{
		`[[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[2,2],[2,4],[4,4],[4,2],[2,2]]],[[[20,0],[30,0],[30,10],[20,10],[20,0]],[[22,2],[22,4],[24,4],[24,2],[22,2]]]]`,
		`[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,6],[5,5]]]]`,
		`[[[0,0],[1,0],[1,1],[0,1],[0,0]]]`,
	}
	wantTypes := []string{"MultiPolygon", "MultiPolygon", "Polygon"}
	for i, f := range fs {
		if f.Geometry.Type != wantTypes[i] || string(f.Geometry.Coordinates) != wantCoords[i] {
			t.Errorf("feature %d: %s %s\nwant %s %s", i+1, f.Geometry.Type, f.Geometry.Coordinates, wantTypes[i], wantCoords[i])
		}
	}
}

func TestShapefileLinesAndMultipoints(t *testing.T) {
	dir := t.TempDir()
	lines := []testShape{{shapefile.PolyLineZ, [][][2]float64{{{0, 0}, {1, 1}}, {{2, 2}, {3, 3}, {4, 4}}}}}
	shp := writeShapefile(t, dir, "LINES", shapefile.PolyLineZ, lines, []testField{{"N", 'N', 3, 0}}, [][]string{{"7"}}, "", "")
	// upper-case parts are found beside the .shp
	for _, ext := range []string{".shp", ".dbf"} {
		if err := os.Rename(filepath.Join(dir, "LINES"+ext), filepath.Join(dir, "LINES"+strings.ToUpper(ext))); err != nil {
			t.Fatal(err)
		}
	}
	_, out, _, err := convertPath(t, Input{Path: strings.TrimSuffix(shp, ".shp") + ".SHP"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3],[4,4]]]},"properties":{"N":7}}` + "\n"; out != want {
		t.Errorf("got %s want %s", out, want)
	}
	mp := []testShape{{shapefile.MultiPointM, [][][2]float64{{{0, 0}, {1, 1}}}}}
	shp = writeShapefile(t, dir, "mp", shapefile.MultiPointM, mp, []testField{{"N", 'N', 3, 0}}, [][]string{{"7"}}, "", "")
	other := t.TempDir() // parts named explicitly, wherever they are
	if err := os.Rename(filepath.Join(dir, "mp.dbf"), filepath.Join(other, "attrs.DBF")); err != nil {
		t.Fatal(err)
	}
	_, out, _, err = convertPath(t, Input{Path: shp, Kind: Shapefile, Parts: []string{filepath.Join(other, "attrs.DBF")}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[0,0],[1,1]]},"properties":{"N":7}}` + "\n"; out != want {
		t.Errorf("got %s want %s", out, want)
	}
}

func TestShapefileEncodings(t *testing.T) {
	for _, tc := range []struct {
		name, cpg, value, want string
	}{
		{"utf-8 guessed", "", "Zürich", "Zürich"},
		{"latin-1 guessed", "", "Z\xfcrich", "Zürich"},
		{"cp1251 by .cpg", "1251", "\xcc\xee\xf1\xea\xe2\xe0", "Москва"},
		{"latin-1 by .cpg", "ISO-8859-1", "Z\xfcrich", "Zürich"},
		{"utf-8 by .cpg, invalid", "UTF-8", "Z\xfcrich", "Z\ufffdrich"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			shp := writeShapefile(t, dir, "e", shapefile.Point, []testShape{{shapefile.Point, [][][2]float64{{{1, 2}}}}},
				[]testField{{"NAME", 'C', 20, 0}}, [][]string{{tc.value}}, "", tc.cpg)
			fs, _, _, err := convertPath(t, Input{Path: shp})
			if err != nil {
				t.Fatal(err)
			}
			if got := fs[0].Properties["NAME"]; got != tc.want {
				t.Errorf("NAME = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShapefileErrors(t *testing.T) {
	pt := []testShape{{shapefile.Point, [][][2]float64{{{1, 2}}}}}
	one := [][]string{{"a"}}
	f := []testField{{"N", 'C', 1, 0}}
	for _, tc := range []struct {
		name     string
		write    func(dir string) string
		sentinel error
		parts    []string
	}{
		{"projection refused", func(dir string) string {
			return writeShapefile(t, dir, "bng", shapefile.Point, pt, f, one, esri27700, "")
		}, ErrUnsupported, []string{"bng.shp", `"British_National_Grid": its datum D_OSGB_1936 needs a datum shift`}},
		{"projected without .prj", func(dir string) string {
			return writeShapefile(t, dir, "utm", shapefile.Point, []testShape{{shapefile.Point, [][][2]float64{{{500000, 5200000}}}}}, f, one, "", "")
		}, ErrInvalid, []string{"utm.shp: feature 1 (byte 128)", "longitude 500000 is out of range"}},
		{"multipatch", func(dir string) string {
			return writeShapefile(t, dir, "mp", shapefile.MultiPatch, nil, f, nil, "", "")
		}, ErrUnsupported, []string{"MultiPatch"}},
		{"fewer dbf records", func(dir string) string {
			return writeShapefile(t, dir, "short", shapefile.Point, append(pt, pt...), f, one, "", "")
		}, ErrInvalid, []string{"feature 2", "the .dbf has 1 records, the .shp more"}},
		{"no dbf", func(dir string) string {
			shp := writeShapefile(t, dir, "nodbf", shapefile.Point, pt, f, one, "", "")
			os.Remove(filepath.Join(dir, "nodbf.dbf"))
			return shp
		}, ErrInvalid, []string{"no .dbf beside it"}},
		{"record past the end", func(dir string) string {
			shp := writeShapefile(t, dir, "cut", shapefile.Point, pt, f, one, "", "")
			b, _ := os.ReadFile(shp)
			os.WriteFile(shp, b[:len(b)-4], 0o644)
			return shp
		}, ErrInvalid, []string{"record 1: content length 20 runs past the end of the file (124 bytes)"}},
		{"not a shapefile", func(dir string) string {
			p := filepath.Join(dir, "x.shp")
			os.WriteFile(p, []byte("hello"), 0o644)
			os.WriteFile(filepath.Join(dir, "x.dbf"), dbfBytes(0, f, one), 0o644)
			return p
		}, ErrInvalid, []string{"shorter than its 100-byte header"}},
		{"unknown .cpg", func(dir string) string {
			return writeShapefile(t, dir, "cpg", shapefile.Point, pt, f, one, "", "KLINGON-1")
		}, ErrInvalid, []string{`.cpg names the encoding "KLINGON-1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := convertPath(t, Input{Path: tc.write(t.TempDir())})
			wantError(t, err, tc.sentinel, tc.parts...)
		})
	}
}

// zipFiles writes a zip of the named contents.
func zipFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestZippedShapefile(t *testing.T) {
	shp := shpBytes(shapefile.Point, []testShape{{shapefile.Point, [][][2]float64{{{1, 2}}}}})
	dbf := dbfBytes(0, []testField{{"N", 'C', 1, 0}}, [][]string{{"a"}})
	ok := zipFiles(t, map[string][]byte{
		"folder/Roads.SHP": shp, "folder/roads.dbf": dbf, "folder/roads.prj": []byte(esriWGS84),
		"__MACOSX/folder/._Roads.SHP": []byte("junk"), "folder/._x.shp": []byte("junk"),
	})
	_, out, _, err := convertPath(t, Input{Path: ok})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"N":"a"}}` + "\n"; out != want {
		t.Errorf("got %s want %s", out, want)
	}
	for _, tc := range []struct {
		name     string
		files    map[string][]byte
		sentinel error
		part     string
	}{
		{"two shapefiles", map[string][]byte{"a.shp": shp, "a.dbf": dbf, "b.shp": shp, "b.dbf": dbf}, ErrUnsupported, "2 shapefiles"},
		{"no shapefile", map[string][]byte{"a.txt": nil}, ErrInvalid, "holds no shapefile"},
		{"no dbf", map[string][]byte{"a.shp": shp}, ErrInvalid, "no .dbf beside a.shp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := convertPath(t, Input{Path: zipFiles(t, tc.files)})
			wantError(t, err, tc.sentinel, tc.part)
		})
	}
	bad := filepath.Join(t.TempDir(), "bad.zip")
	os.WriteFile(bad, []byte("PK\x03\x04 not really"), 0o644)
	_, _, _, err = convertPath(t, Input{Path: bad})
	wantError(t, err, ErrInvalid, "not a readable zip")
}
