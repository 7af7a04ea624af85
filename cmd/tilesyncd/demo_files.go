package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/examples"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// copyExamples copies the bundled example files into dst.
func copyExamples(dst string) error {
	return fs.WalkDir(examples.Drop, "drop", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(strings.TrimPrefix(p, "drop")))
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := examples.Drop.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// largeExamples are the GeoJSON files the demo writes beside the bundled
// examples (too large to bundle): large enough for their staging, on the
// demo's slow link, to show its progress.
var largeExamples = []struct {
	path string
	size int
}{
	{"contours.geojson", 12 << 20},
	{"parks/trails.geojson", 8 << 20},
}

// writeLargeExamples writes them into drop.
func writeLargeExamples(drop string) error {
	for i, ex := range largeExamples {
		if err := writeLines(filepath.Join(drop, filepath.FromSlash(ex.path)), ex.size, float64(i)); err != nil {
			return err
		}
	}
	return nil
}

// writeLines writes a GeoJSON FeatureCollection of rings (contour lines
// round a hill near Central Park, one hill per shift) of at least size
// bytes. The same arguments write the same bytes.
func writeLines(path string, size int, shift float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	n, _ := w.WriteString(`{"type":"FeatureCollection","features":[`)
	var b strings.Builder
	for i := 0; n < size; i++ {
		b.Reset()
		if i > 0 {
			b.WriteByte(',')
		}
		ring, hill := i%400, i/400
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"id":%d,"elevation_m":%d},"geometry":{"type":"LineString","coordinates":[`, i, 20+ring*2)
		r := 0.0002 + float64(ring)*0.00005
		for k := 0; k <= 32; k++ {
			a := 2 * math.Pi * float64(k) / 32
			lon := -73.9654 + shift*0.02 + float64(hill%10)*0.004 + r*math.Cos(a)
			lat := 40.7829 + float64(hill/10)*0.003 + r*math.Sin(a)
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "[%.6f,%.6f]", lon, lat)
		}
		b.WriteString("]}}")
		m, _ := w.WriteString(b.String())
		n += m
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// slowLink is the demo's HTTP client for S3: each request body is sent at
// most at rate bytes a second (0: no limit), as over a laptop's link in
// the field, so that staging lasts long enough to be watched.
func slowLink(rate int64) staging.HTTPClient {
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	if rate <= 0 {
		return c
	}
	return slowClient{inner: c, rate: rate}
}

type slowClient struct {
	inner *http.Client
	rate  int64
}

func (c slowClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &slowBody{ReadCloser: req.Body, rate: c.rate, start: time.Now()}
	}
	return c.inner.Do(req)
}

// slowBody reads its body at most at rate bytes a second.
type slowBody struct {
	io.ReadCloser
	rate  int64
	start time.Time
	sent  int64
}

// Read reads at most a tenth of a second's worth, once the bytes read
// before are due: pacing a link, not waiting for a condition.
func (b *slowBody) Read(p []byte) (int, error) {
	if chunk := b.rate / 10; int64(len(p)) > chunk {
		p = p[:chunk]
	}
	due := b.start.Add(time.Duration(float64(b.sent) / float64(b.rate) * float64(time.Second)))
	if wait := time.Until(due); wait > 0 {
		time.Sleep(wait)
	}
	n, err := b.ReadCloser.Read(p)
	b.sent += int64(n)
	return n, err
}
