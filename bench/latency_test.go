package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	defer runInBackground(d)()
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

// BenchmarkCompletionNoticed measures figure 6's second line: with nothing
// else waiting for the budget, how long after Mapbox finished processing
// an upload the daemon notices it (its next list). Production poll pace
// and a 150 s processing time (an upload's interval would have grown to a
// minute), both divided by ten at every scale; the lag is reported
// multiplied back. Four files at once, in rounds.
func BenchmarkCompletionNoticed(b *testing.B) {
	const scale = 10
	rounds := 3
	if short() {
		rounds = 1
	}
	s := newSetup(b, setupOptions{processing: 150 * time.Second / scale})
	d := s.open(b, scale, nil)
	defer d.Close()
	defer runInBackground(d)()

	var worst time.Duration
	var lags []time.Duration
	for r := range rounds {
		dropSmall(b, s.Drop, fmt.Sprintf("r%d-", r), 4)
		want := int64(4 * (r + 1))
		deadline := time.Now().Add(2 * time.Minute)
		var noticed []time.Time
		for got := d.Syncer().Stats().Uploaded.Load(); got < want; got = d.Syncer().Stats().Uploaded.Load() {
			for int64(len(noticed)) < got-int64(4*r) {
				noticed = append(noticed, time.Now())
			}
			if time.Now().After(deadline) {
				b.Fatalf("round %d: %d of %d uploads noticed in 2 minutes", r, got, want)
			}
			time.Sleep(5 * time.Millisecond) // sampling a counter: the resolution of the figure
		}
		for len(noticed) < 4 {
			noticed = append(noticed, time.Now())
		}
		var finished []time.Time
		for _, u := range s.Srv.Uploads() {
			if u.Complete && strings.HasPrefix(u.Tileset, fmt.Sprintf("acme.r%d-", r)) {
				finished = append(finished, u.Finished)
			}
		}
		slices.SortFunc(finished, func(a, b time.Time) int { return a.Compare(b) })
		for i := range min(len(finished), len(noticed)) {
			lag := noticed[i].Sub(finished[i]) * scale
			lags = append(lags, lag)
			worst = max(worst, lag)
		}
	}
	line("6. completion noticed, nothing else waiting: %d uploads processing 150 s, lag from Mapbox's completion to the daemon's notice median %v, worst %v (time-scaled ×%d) — target ≤ 10 s: %s",
		len(lags), percentile(lags, 0.5).Round(100*time.Millisecond), worst.Round(100*time.Millisecond), scale, verdict(worst <= 10*time.Second))
	b.ReportMetric(worst.Seconds(), "worst-lag-s")
}
