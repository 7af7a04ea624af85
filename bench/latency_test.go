package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// BenchmarkLatency measures figure 6: from the last write of a file to the
// start of its staging (the credentials request that begins it, as the
// test server logged its arrival), less the settle time. The daemon runs in
// this process in notify mode with a 1 s settle, one file at a time (the
// next written once the previous one's staging began), each written in
// three pieces 50 ms apart.
func BenchmarkLatency(b *testing.B) {
	const settle = time.Second
	n := 40
	if short() {
		n = 12
	}
	s := newSetup(b, setupOptions{processing: 50 * time.Millisecond, mode: "notify"})
	d := s.open(b, 1, nil)
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(300 * time.Millisecond) // let the watcher set up its watches before the first file

	credentials := func() []time.Time {
		var out []time.Time
		for _, r := range s.Srv.Requests() {
			if r.Endpoint == mapbox.EndpointCredentials {
				out = append(out, r.Time)
			}
		}
		return out
	}
	var lat []time.Duration
	for i := range n {
		p := filepath.Join(s.Drop, fmt.Sprintf("lat%03d.geojson", i))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		for part := range 3 {
			fmt.Fprintf(f, `{"type":"FeatureCollection","features":[],"part%d":%d}`+"\n", part, i)
			f.Sync()
			if part < 2 {
				time.Sleep(50 * time.Millisecond) // a writer writing in pieces
			}
		}
		f.Close()
		last := time.Now()
		deadline := last.Add(30 * time.Second)
		for len(credentials()) <= i {
			if time.Now().After(deadline) {
				b.Fatalf("file %d: no staging after 30 s", i)
			}
			time.Sleep(5 * time.Millisecond) // sampling the server's log
		}
		lat = append(lat, credentials()[i].Sub(last)-settle)
	}
	med, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	line("6. latency from the last write to staging start, beyond the %v settle, %d files: median %v, p99 %v — target median ≤ 250 ms: %s",
		settle, n, med.Round(time.Millisecond), p99.Round(time.Millisecond), verdict(med <= 250*time.Millisecond))
	b.ReportMetric(float64(med.Milliseconds()), "median-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
}
