package convert

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeFeatureCollection writes a FeatureCollection of at least size
// bytes to path: points, lines and polygons with holes, numeric and string
// ids, string, number, null and nested properties, pretty enough to have
// whitespace. The content is a function of seed. It returns the file's
// size and its number of features.
func writeFeatureCollection(path string, size int64, seed uint64) (int64, int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(seed, seed))
	var n int64
	count := 0
	put := func(s string) { w.WriteString(s); n += int64(len(s)) }
	put(`{"type": "FeatureCollection", "name": "bench", "features": [` + "\n")
	var b []byte
	for n < size {
		if count > 0 {
			put(",\n")
		}
		b = appendBenchFeature(b[:0], r, count)
		w.Write(b)
		n += int64(len(b))
		count++
	}
	put("\n]}\n")
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	return n, count, f.Close()
}

func appendBenchFeature(b []byte, r *rand.Rand, i int) []byte {
	lon, lat := r.Float64()*340-170, r.Float64()*160-80
	coord := func(b []byte, dx, dy float64) []byte {
		b = append(b, '[')
		b = strconv.AppendFloat(b, lon+dx, 'f', 6, 64)
		b = append(b, ", "...)
		b = strconv.AppendFloat(b, lat+dy, 'f', 6, 64)
		return append(b, ']')
	}
	b = append(b, `  {"type": "Feature", "id": `...)
	if i%2 == 0 {
		b = strconv.AppendInt(b, int64(i), 10)
	} else {
		b = strconv.AppendQuote(b, fmt.Sprintf("f-%d", i))
	}
	b = append(b, `, "geometry": {"type": `...)
	switch i % 3 {
	case 0:
		b = append(b, `"Point", "coordinates": `...)
		b = coord(b, 0, 0)
	case 1:
		b = append(b, `"LineString", "coordinates": [`...)
		for k := range 20 {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = coord(b, float64(k)*0.01, r.Float64()*0.01)
		}
		b = append(b, ']')
	default:
		b = append(b, `"Polygon", "coordinates": [[`...)
		for k := range 24 {
			b = coord(b, 0.1*cosTable[k%24], 0.1*sinTable[k%24])
			b = append(b, ", "...)
		}
		b = coord(b, 0.1*cosTable[0], 0.1*sinTable[0])
		b = append(b, "], ["...)
		for k := range 8 {
			b = coord(b, 0.01*cosTable[(24-3*k)%24], 0.01*sinTable[(24-3*k)%24])
			b = append(b, ", "...)
		}
		b = coord(b, 0.01, 0)
		b = append(b, "]]"...)
	}
	b = append(b, `}, "properties": {"name": "feature number `...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ` \u00e9t\u00e9", "value": `...)
	b = strconv.AppendFloat(b, r.Float64()*1000, 'f', 3, 64)
	b = append(b, `, "rank": `...)
	b = strconv.AppendInt(b, int64(r.IntN(100)), 10)
	b = append(b, `, "note": null`...)
	if i%10 == 0 {
		b = append(b, `, "tags": ["a", "b"], "meta": {"source": "bench"}`...)
	}
	return append(b, "}}"...)
}

var cosTable, sinTable = func() ([24]float64, [24]float64) {
	var c, s [24]float64
	for k := range 24 {
		a := 2 * 3.141592653589793 * float64(k) / 24
		c[k], s[k] = cosApprox(a), cosApprox(a-3.141592653589793/2)
	}
	return c, s
}()

func cosApprox(a float64) float64 { return float64(int(1e6*cos(a))) / 1e6 }

func cos(a float64) float64 {
	// enough for a ring's shape; math is not needed for exactness here
	sum, term := 1.0, 1.0
	for k := 1; k < 20; k++ {
		term *= -a * a / float64((2*k-1)*(2*k))
		sum += term
	}
	return sum
}

// plainDecode reads a FeatureCollection file with json.Decoder's tokens
// and decodes each feature into v(), the way a plain streaming reader
// would; it returns the number of features.
func plainDecode(path string, v func() any) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for {
		tok, err := dec.Token()
		if err != nil {
			return 0, err
		}
		if tok == "features" {
			break
		}
	}
	if _, err := dec.Token(); err != nil {
		return 0, err
	}
	n := 0
	for dec.More() {
		if err := dec.Decode(v()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// heapSampler samples the heap in use (live and dead objects plus the
// spans' free space: runtime.MemStats.HeapInuse) every millisecond, from
// runtime/metrics, which does not stop the world. Stop returns the peak.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func sampleHeap() *heapSampler {
	s := &heapSampler{stop: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	read := func() {
		metrics.Read(samples)
		s.peak = max(s.peak, samples[0].Value.Uint64()+samples[1].Value.Uint64())
	}
	read()
	s.wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	})
	return s
}

func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak
}

// benchSize is the FeatureCollection's size: 64 MB, 1 GB with
// TILESYNCD_BENCH_BIG=1, or TILESYNCD_BENCH_MB megabytes.
func benchSize(tb testing.TB) int64 {
	if os.Getenv("TILESYNCD_BENCH_BIG") == "1" {
		return 1 << 30
	}
	if s := os.Getenv("TILESYNCD_BENCH_MB"); s != "" {
		mb, err := strconv.Atoi(s)
		if err != nil || mb <= 0 {
			tb.Fatalf("TILESYNCD_BENCH_MB=%q is not a positive number", s)
		}
		return int64(mb) << 20
	}
	return 64 << 20
}

// BenchmarkConvertFeatureCollection converts a generated FeatureCollection
// (benchSize) and, in the same run, reads it with a plain streaming
// json.Decoder twice (each feature into a json.RawMessage, the decoder's
// floor; and into a map, a generic reader), reporting MB/s for each
// (MB = 10^6 bytes) and the peak heap in use during the conversion.
func BenchmarkConvertFeatureCollection(b *testing.B) {
	size := benchSize(b)
	path := filepath.Join(b.TempDir(), "bench.geojson")
	n, count, err := writeFeatureCollection(path, size, 1)
	if err != nil {
		b.Fatal(err)
	}
	var conv, raw, generic time.Duration
	var peak uint64
	b.ResetTimer()
	for range b.N {
		runtime.GC()
		s := sampleHeap()
		t0 := time.Now()
		stats, err := Convert(context.Background(), Input{Path: path}, io.Discard)
		conv += time.Since(t0)
		peak = max(peak, s.Stop())
		if err != nil || stats.Features != int64(count) {
			b.Fatalf("Convert: %d features of %d, %v", stats.Features, count, err)
		}
		t0 = time.Now()
		if _, err := plainDecode(path, func() any { return new(json.RawMessage) }); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(t0)
		t0 = time.Now()
		if _, err := plainDecode(path, func() any { return new(map[string]any) }); err != nil {
			b.Fatal(err)
		}
		generic += time.Since(t0)
	}
	mbps := func(d time.Duration) float64 { return float64(n) * float64(b.N) / 1e6 / d.Seconds() }
	b.ReportMetric(float64(n)/1e6, "file-MB")
	b.ReportMetric(mbps(conv), "convert-MB/s")
	b.ReportMetric(mbps(raw), "decode-raw-MB/s")
	b.ReportMetric(mbps(generic), "decode-map-MB/s")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
}

// TestConvertBoundedMemory converts a FeatureCollection of about 100 MB
// and checks that the heap in use never came near the file's size: the
// conversion streams. It measures memory, not time.
func TestConvertBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 100 MB file")
	}
	const size = 100 << 20
	path := filepath.Join(t.TempDir(), "big.geojson")
	n, count, err := writeFeatureCollection(path, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	s := sampleHeap()
	stats, err := Convert(context.Background(), Input{Path: path}, io.Discard)
	peak := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if stats.Features != int64(count) {
		t.Errorf("%d features written, the file has %d", stats.Features, count)
	}
	t.Logf("%d bytes, %d features: peak heap in use %.1f MB", n, count, float64(peak)/1e6)
	if limit := uint64(32 << 20); peak > limit {
		t.Errorf("peak heap in use %d bytes converting a %d-byte file; the bound is %d", peak, n, limit)
	}
	if want := []KeyCount{{"meta", int64((count + 9) / 10)}, {"tags", int64((count + 9) / 10)}}; fmt.Sprint(stats.Nested) != fmt.Sprint(want) {
		t.Errorf("nested %v, want %v", stats.Nested, want)
	}
	if !strings.HasPrefix(stats.SHA256, "") || stats.Bytes == 0 {
		t.Errorf("stats %+v", stats)
	}
}
