package convert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, data string
		want       Kind
	}{
		{"a.GeoJSON", "", GeoJSON}, {"a.json", "", GeoJSON}, {"a.geojsonl", "", GeoJSONSeq},
		{"a.ndjson", "", GeoJSONSeq}, {"countries.ldgeojson.ld", "", GeoJSONSeq}, {"a.CSV", "", CSV},
		{"a.gpx", "", GPX}, {"a.kml", "", KML}, {"a.zip", "", ShapefileZip}, {"a.SHP", "", Shapefile},
		{"a.mbtiles", "", MBTiles}, {"a.tif", "", GeoTIFF}, {"a.TIFF", "", GeoTIFF},
		{"noext1", "\ufeff  {\"type\":\"Feature\"}", GeoJSON},
		{"noext2", "<?xml version=\"1.0\"?>\n<gpx version=\"1.1\">", GPX},
		{"noext3", "<?xml version=\"1.0\"?><kml xmlns=\"http://www.opengis.net/kml/2.2\">", KML},
		{"noext4", "PK\x03\x04rest", ShapefileZip},
		{"noext5", "SQLite format 3\x00...", MBTiles},
		{"noext6", "II*\x00....", GeoTIFF},
	} {
		got, err := Detect(write(tc.name, tc.data))
		if err != nil || got != tc.want {
			t.Errorf("Detect(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	_, err := Detect(write("notes.txt", "hello"))
	wantError(t, err, ErrUnsupported, "notes.txt", `unknown file type (extension ".txt"`)
	if _, err := Detect(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Detect of a missing file: %v", err)
	}
}

func TestNotVectorSources(t *testing.T) {
	for _, name := range []string{"tiles.mbtiles", "dem.tif"} {
		_, _, stats, err := convertFile(t, name, "whatever")
		wantError(t, err, ErrNotVectorSource, name, "not an MTS vector source", "Uploads API")
		if stats.Bytes != 0 {
			t.Errorf("%s: %d bytes written", name, stats.Bytes)
		}
	}
}

// TestCancel: a conversion stops at the next read once its context is
// done, and returns the context's error.
func TestCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.geojson")
	if _, _, err := writeFeatureCollection(path, 4<<20, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelAfter{n: 64 << 10, cancel: cancel}
	_, err := Convert(ctx, Input{Path: path}, w)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Convert after cancel: %v, want context.Canceled", err)
	}
	if w.written > 2<<20 {
		t.Errorf("%d bytes written after cancelling at 64 KiB", w.written)
	}
}

// cancelAfter cancels once n bytes were written to it.
type cancelAfter struct {
	n, written int
	cancel     func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.written += len(p)
	if c.written >= c.n {
		c.cancel()
	}
	return len(p), nil
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteError: a failure to write is the writer's, not the data's.
func TestWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.geojson")
	if _, _, err := writeFeatureCollection(path, 1<<20, 1); err != nil {
		t.Fatal(err)
	}
	_, err := Convert(context.Background(), Input{Path: path}, failingWriter{})
	var ce *Error
	if err == nil || errors.As(err, &ce) || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "write output: disk full") {
		t.Fatalf("Convert to a failing writer: %v", err)
	}
}

// TestReadErrorIsNotInvalid: a file that cannot be read is not bad data.
func TestReadErrorIsNotInvalid(t *testing.T) {
	_, err := Convert(context.Background(), Input{Path: filepath.Join(t.TempDir(), "gone.geojson")}, io.Discard)
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Fatalf("Convert of a missing file: %v", err)
	}
}

// TestDeterministic: the same input gives the same bytes and hash.
func TestDeterministic(t *testing.T) {
	_, out1, s1, err1 := convertFile(t, "a.kml", kmlSample)
	_, out2, s2, err2 := convertFile(t, "b.kml", kmlSample)
	if err1 != nil || err2 != nil || out1 != out2 || s1.SHA256 != s2.SHA256 {
		t.Fatalf("two conversions differ: %v %v %s %s", err1, err2, s1.SHA256, s2.SHA256)
	}
}

// TestRoundTrip is a property test: random FeatureCollections, written
// compact or pretty, convert to exactly their features (ids, geometries,
// properties), each on a line, and the nested properties are counted. It
// prints its seed; TILESYNCD_SEED=n replays one.
func TestRoundTrip(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TILESYNCD_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (replay: TILESYNCD_SEED=%d go test -run TestRoundTrip ./convert/)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range 50 {
		features, nested, skipped := randomFeatures(r)
		fc := map[string]any{"type": "FeatureCollection", "features": features}
		var data []byte
		if r.IntN(2) == 0 {
			data, _ = json.Marshal(fc)
		} else {
			data, _ = json.MarshalIndent(fc, "", "  ")
		}
		fs, _, stats, err := convertFile(t, "r.geojson", string(data))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var want []map[string]any
		for _, f := range features {
			if f["geometry"] != nil {
				want = append(want, f)
			}
		}
		if len(fs) != len(want) || stats.SkippedNoGeometry != skipped {
			t.Fatalf("case %d: %d features and %d skipped, want %d and %d", i, len(fs), stats.SkippedNoGeometry, len(want), skipped)
		}
		for j, f := range fs {
			m := map[string]any{"type": "Feature", "geometry": f.Geometry, "properties": f.Properties}
			if f.ID != nil {
				m["id"] = f.ID
			}
			got, _ := json.Marshal(m)
			exp, _ := json.Marshal(want[j])
			if !jsonEqual(got, exp) {
				t.Fatalf("case %d feature %d:\ngot  %s\nwant %s", i, j, got, exp)
			}
		}
		if fmt.Sprint(nestedMap(stats)) != fmt.Sprint(nested) {
			t.Fatalf("case %d: nested %v, want %v", i, nestedMap(stats), nested)
		}
	}
}

func nestedMap(s Stats) map[string]int64 {
	m := map[string]int64{}
	for _, kc := range s.Nested {
		m[kc.Key] = kc.Count
	}
	return m
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

// randomFeatures makes features of every geometry type (some null), with
// and without ids, and properties of every JSON type.
func randomFeatures(r *rand.Rand) (features []map[string]any, nested map[string]int64, skipped int64) {
	nested = map[string]int64{}
	pos := func() []any { return []any{r.Float64()*360 - 180, r.Float64()*180 - 90} }
	line := func(n int) []any {
		var l []any
		for range n {
			l = append(l, pos())
		}
		return l
	}
	for range r.IntN(20) {
		f := map[string]any{"type": "Feature"}
		var g map[string]any
		switch r.IntN(7) {
		case 0:
			g = map[string]any{"type": "Point", "coordinates": pos()}
		case 1:
			g = map[string]any{"type": "MultiPoint", "coordinates": line(1 + r.IntN(4))}
		case 2:
			g = map[string]any{"type": "LineString", "coordinates": line(2 + r.IntN(4))}
		case 3:
			g = map[string]any{"type": "MultiLineString", "coordinates": []any{line(2), line(3)}}
		case 4:
			g = map[string]any{"type": "Polygon", "coordinates": []any{line(4)}}
		case 5:
			g = map[string]any{"type": "MultiPolygon", "coordinates": []any{[]any{line(4), line(4)}, []any{line(5)}}}
		case 6:
			skipped++
		}
		if g != nil {
			f["geometry"] = g
		} else {
			f["geometry"] = nil
		}
		switch r.IntN(3) {
		case 0:
			f["id"] = r.IntN(1000)
		case 1:
			f["id"] = fmt.Sprintf("id-%d\n\"%c", r.IntN(1000), rune(0x80+r.IntN(0x2000)))
		}
		props := map[string]any{}
		for k := range r.IntN(6) {
			key := fmt.Sprintf("k%d\u00e9", k)
			switch r.IntN(6) {
			case 0:
				props[key] = r.Float64() * 1e6
			case 1:
				props[key] = "v\t" + strings.Repeat("x", r.IntN(5))
			case 2:
				props[key] = r.IntN(2) == 0
			case 3:
				props[key] = nil
			case 4:
				props[key] = []any{1, "a"}
				if g != nil {
					nested[key]++
				}
			case 5:
				props[key] = map[string]any{"in": []any{}}
				if g != nil {
					nested[key]++
				}
			}
		}
		f["properties"] = props
		features = append(features, f)
	}
	return features, nested, skipped
}
