package convert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tilesyncd/tilesyncd/convert/shapefile"
)

// fuzzConvert converts data as kind from memory and checks what must
// always hold: no panic; on success, valid line-delimited GeoJSON that the
// stats describe; on failure, an *Error wrapping ErrInvalid or
// ErrUnsupported (reading memory cannot fail).
func fuzzConvert(t *testing.T, kind Kind, data []byte) {
	var out bytes.Buffer
	o := newOutput(&out, kind)
	err := convertReader(context.Background(), bytes.NewReader(data), "fuzz", kind, o)
	stats, ferr := o.finish()
	checkFuzzResult(t, out.Bytes(), stats, errors.Join(err, ferr))
}

func checkFuzzResult(t *testing.T, out []byte, stats Stats, err error) {
	t.Helper()
	if sum := sha256.Sum256(out); stats.SHA256 != hex.EncodeToString(sum[:]) || stats.Bytes != int64(len(out)) {
		t.Fatalf("stats hash or size do not match the output")
	}
	if err != nil {
		var ce *Error
		if !errors.As(err, &ce) || !(errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported)) {
			t.Fatalf("error %v (%T) is not an *Error wrapping ErrInvalid or ErrUnsupported", err, err)
		}
		return
	}
	fs, lerr := checkLD(out)
	if lerr != nil {
		t.Fatalf("output is not valid line-delimited GeoJSON: %v\n%q", lerr, out)
	}
	if int64(len(fs)) != stats.Features {
		t.Fatalf("stats count %d features, the output has %d", stats.Features, len(fs))
	}
}

func FuzzFeatureCollection(f *testing.F) {
	for _, s := range []string{
		`{"type":"FeatureCollection","features":[{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"a":[1]}}]}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"properties":null}`,
		`{"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[]]}`,
		`{"features":[{"type":"Feature","geometry":null}],"crs":{"type":"name","properties":{"name":"EPSG:4326"}},"type":"FeatureCollection"}`,
		"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{}}\n{\"type\":\"Feature\",\"geometry\":null}\n",
		"\x1e{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzConvert(t, GeoJSON, data) })
}

func FuzzGeoJSONSeq(f *testing.F) {
	f.Add([]byte("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"properties\":{}}\n\n{\"type\":\"FeatureCollection\",\"features\":[]}"))
	f.Add([]byte("\x1e{\"type\":\"Feature\",\n\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]},\"properties\":{\"k\":{}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzConvert(t, GeoJSONSeq, data) })
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"name,Latitude,LONGITUDE,pop\nZürich,47.3769,8.5417,415367\nNowhere,,,1\n",
		"x;lat;long;v\n99;10;20;1.5e3\n",
		"lat,lng,desc\r\n-33.5,151.25,\"two\nlines\"\r\n",
		"lat,lon\n1,\"2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzConvert(t, CSV, data) })
}

func FuzzGPX(f *testing.F) {
	f.Add([]byte(gpxSample))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"windows-1252\"?><gpx><wpt lat=\"1\" lon=\"2\"><name>\x80</name></wpt></gpx>"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzConvert(t, GPX, data) })
}

func FuzzKML(f *testing.F) {
	f.Add([]byte(kmlSample))
	f.Add([]byte("<kml><Placemark><MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1</coordinates></LinearRing></outerBoundaryIs></Polygon></MultiGeometry></Placemark></kml>"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzConvert(t, KML, data) })
}

// FuzzShapefile fuzzes a .shp, its .dbf, .prj and .cpg together.
func FuzzShapefile(f *testing.F) {
	fields := []testField{{"NAME", 'C', 8, 0}, {"POP", 'N', 6, 0}, {"OK", 'L', 1, 0}, {"DAY", 'D', 8, 0}}
	recs := [][]string{{"a", "1", "T", "20240101"}, {"*b", "2", "F", ""}, {"caf\xe9", "", "?", "x"}}
	seeds := []struct {
		typ    shapefile.ShapeType
		shapes []testShape
	}{
		{shapefile.PointZ, []testShape{{shapefile.PointZ, [][][2]float64{{{1, 2}}}}, {shapefile.Null, nil}, {shapefile.PointZ, [][][2]float64{{{3, 4}}}}}},
		{shapefile.Polygon, []testShape{
			{shapefile.Polygon, [][][2]float64{square(0, 0, 10, true), square(20, 0, 10, true), square(22, 2, 2, false), square(2, 2, 2, false)}},
			{shapefile.Polygon, [][][2]float64{square(0, 0, 1, true), square(5, 5, 1, false)}},
			{shapefile.Polygon, [][][2]float64{square(0, 0, 1, false)}},
		}},
		{shapefile.PolyLineM, []testShape{{shapefile.PolyLineM, [][][2]float64{{{0, 0}, {1, 1}}, {{2, 2}, {3, 3}}}}, {shapefile.Null, nil}, {shapefile.PolyLineM, [][][2]float64{{{0, 0}, {1, 1}}}}}},
		{shapefile.MultiPoint, []testShape{{shapefile.MultiPoint, [][][2]float64{{{0, 0}, {1, 1}}}}, {shapefile.Null, nil}, {shapefile.Null, nil}}},
	}
	for _, s := range seeds {
		f.Add(shpBytes(s.typ, s.shapes), dbfBytes(0x57, fields, recs), "", "")
	}
	f.Add(shpBytes(seeds[0].typ, seeds[0].shapes), dbfBytes(0, fields, recs), esriWGS84, "UTF-8")
	// the GDAL-written shapefiles of testdata, as seeds of real files
	for _, stem := range []string{"lines_32632", "poly_2154"} {
		shp, _ := os.ReadFile(filepath.Join("testdata", stem+".shp"))
		dbf, _ := os.ReadFile(filepath.Join("testdata", stem+".dbf"))
		prj, _ := os.ReadFile(filepath.Join("testdata", stem+".prj"))
		cpg, _ := os.ReadFile(filepath.Join("testdata", stem+".cpg"))
		f.Add(shp, dbf, string(prj), string(cpg))
	}
	f.Fuzz(func(t *testing.T, shp, dbf []byte, prj, cpg string) {
		var out bytes.Buffer
		o := newOutput(&out, Shapefile)
		in := shapefileInput{name: "fuzz.shp", shp: bytes.NewReader(shp), shpSize: int64(len(shp)), dbf: bytes.NewReader(dbf)}
		if prj != "" {
			in.prj = []byte(prj)
		}
		if cpg != "" {
			in.cpg = []byte(cpg)
		}
		err := convertShapefile(context.Background(), in, o)
		stats, ferr := o.finish()
		checkFuzzResult(t, out.Bytes(), stats, errors.Join(err, ferr))
	})
}
