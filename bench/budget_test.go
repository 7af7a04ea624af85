package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// budgetRun is one daemon run of n files against a rate-limited server.
type budgetRun struct {
	requests, uploads, tooMany int
	took                       time.Duration
	creates                    []time.Time
	times                      []time.Time // of every request, as the server logged them
}

// steadyPerUpload is the requests per upload between the 10th and the
// 90th successful create (the steady state, without the start and the
// last uploads' processing).
func (r budgetRun) steadyPerUpload() float64 {
	c := r.creates
	if len(c) < 20 {
		return 0
	}
	lo, hi := len(c)/10, len(c)*9/10
	n := 0
	for _, t := range r.times {
		if t.After(c[lo]) && !t.After(c[hi]) {
			n++
		}
	}
	return float64(n) / float64(hi-lo)
}

// runDaemon syncs n files with the daemon (SyncOnce) against a server
// processing each upload for processing, limited to 30 requests per window.
// scale divides the daemon's own timings (window = 60 s / scale).
func runDaemon(b *testing.B, n int, processing, window time.Duration, scale time.Duration) budgetRun {
	s := newSetup(b, setupOptions{processing: processing, rateLimit: 30, rateWindow: window,
		perMinute: int(30 * time.Minute / window)})
	dropSmall(b, s.Drop, "f", n)
	d := s.open(b, scale, nil)
	defer d.Close()
	start := time.Now()
	syncOnce(b, d, 2*time.Hour)
	r := budgetRun{requests: s.Requests(), tooMany: s.status(429), took: time.Since(start)}
	for _, u := range s.Srv.Uploads() {
		if u.Error == "" {
			r.uploads++
		}
	}
	for _, q := range s.Srv.Requests() {
		r.times = append(r.times, q.Time)
		if q.Endpoint == mapbox.EndpointCreate && q.Status == 201 {
			r.creates = append(r.creates, q.Time)
		}
	}
	return r
}

// runGuide uploads n files the way the Mapbox SDK guide does: credentials,
// stage, create, then one status request every pollEvery until complete,
// workers files at a time. A 429 waits until the reset the headers give.
func runGuide(b *testing.B, n int, processing, window, pollEvery time.Duration, workers int) budgetRun {
	s := newSetup(b, setupOptions{processing: processing, rateLimit: 30, rateWindow: window})
	dropSmall(b, s.Drop, "f", n)
	client, err := mapbox.New(mapbox.Options{BaseURL: s.Srv.URL(), Username: "acme", Token: testenv.Token})
	if err != nil {
		b.Fatal(err)
	}
	stager, err := staging.New(staging.Options{Endpoint: s.Srv.Storage().Endpoint()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	files := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := range files {
				if err := guideOne(ctx, client, stager, s.Drop, i, pollEvery); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		files <- i
	}
	close(files)
	wg.Wait()
	r := budgetRun{requests: s.Requests(), tooMany: s.status(429), took: time.Since(start)}
	for _, u := range s.Srv.Uploads() {
		if u.Error == "" {
			r.uploads++
		}
	}
	return r
}

func guideOne(ctx context.Context, c *mapbox.Client, st *staging.Stager, drop string, i int, pollEvery time.Duration) error {
	name := fmt.Sprintf("f%05d", i)
	creds, err := retry429(ctx, func() (mapbox.Credentials, error) { return c.Credentials(ctx) })
	if err != nil {
		return err
	}
	if _, err := st.Stage(ctx, creds, filepath.Join(drop, name+".geojson"), nil, staging.Hooks{}); err != nil {
		return err
	}
	up, err := retry429(ctx, func() (mapbox.Upload, error) {
		return c.Create(ctx, mapbox.CreateRequest{Tileset: "acme." + name, URL: creds.URL, Name: name})
	})
	if err != nil {
		return err
	}
	for !up.Complete && up.Error == nil {
		time.Sleep(pollEvery) // the guide's fixed poll interval
		if up, err = retry429(ctx, func() (mapbox.Upload, error) { return c.Upload(ctx, up.ID) }); err != nil {
			return err
		}
	}
	return nil
}

// retry429 calls fn until it is not rate limited, waiting for the reset.
func retry429[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		if !errors.Is(err, mapbox.ErrRateLimited) {
			return v, err
		}
		at, ok := mapbox.RetryAt(err)
		if !ok {
			at = time.Now().Add(time.Second)
		}
		time.Sleep(max(time.Until(at), 10*time.Millisecond))
	}
}

// BenchmarkBudget measures figures 1 and 2: API requests per completed
// upload (100 files, 20 s processing, 30 requests a minute) beside the SDK
// guide's way, and uploads per minute at the limit (60 s processing). At
// full scale the daemon's runs take real minutes; under -short every time
// (window, processing, the daemon's poll pace and backoff) is divided by
// ten. The guide's run is always time-scaled by ten (it would take half an
// hour at full scale); the ratios do not depend on the scale.
func BenchmarkBudget(b *testing.B) {
	scale := time.Duration(1)
	if short() {
		scale = 10
	}
	const n = 100
	var perUpload, throughput, guide budgetRun
	var wg sync.WaitGroup
	wg.Go(func() { perUpload = runDaemon(b, n, 20*time.Second/scale, time.Minute/scale, scale) })
	wg.Go(func() { throughput = runDaemon(b, n, time.Minute/scale, time.Minute/scale, scale) })
	wg.Go(func() { guide = runGuide(b, n, 2*time.Second, 6*time.Second, 500*time.Millisecond, 10) })
	wg.Wait()

	ratio := float64(perUpload.requests) / float64(max(perUpload.uploads, 1))
	guideRatio := float64(guide.requests) / float64(max(guide.uploads, 1))
	line("1. API requests per completed upload: %.2f (%d requests, %d uploads, %d × 429) — SDK guide way %.2f (%d requests, %d × 429; time-scaled ×10) — %.1f× fewer; target ≤ 2.18 (it must not rise): %s",
		ratio, perUpload.requests, perUpload.uploads, perUpload.tooMany, guideRatio, guide.requests, guide.tooMany, guideRatio/ratio, verdict(ratio <= 2.18))
	minutes := func(d time.Duration) float64 { return d.Minutes() * float64(scale) }
	overall := float64(throughput.uploads) / minutes(throughput.took)
	steady := 0.0
	if c := throughput.creates; len(c) >= 20 {
		lo, hi := len(c)/10, len(c)*9/10
		steady = float64(hi-lo) / minutes(c[hi].Sub(c[lo]))
	}
	thrRatio := float64(throughput.requests) / float64(max(throughput.uploads, 1))
	steadyRatio := throughput.steadyPerUpload()
	line("2. uploads per minute at 30 requests/min, 60 s processing: %.2f steady (10th→90th create), %.1f overall (%d uploads in %.1f min incl. the last 60 s of processing), %.3f requests per upload steady, %.2f overall (the last uploads' processing watched so that each completion is noticed within 10 s), %d × 429 — ceiling 15; the SDK guide way would do %.1f — targets ≥ 14.5 (97 %% of the ceiling): %s, ≤ 2.07 requests per upload steady: %s, zero 429s: %s",
		steady, overall, throughput.uploads, minutes(throughput.took), steadyRatio, thrRatio, throughput.tooMany, 30/guideRatio,
		verdict(steady >= 14.5), verdict(steadyRatio > 0 && steadyRatio <= 2.07), verdict(throughput.tooMany == 0))
	b.ReportMetric(ratio, "req/upload")
	b.ReportMetric(guideRatio, "guide-req/upload")
	b.ReportMetric(steady, "uploads/min")
	b.ReportMetric(float64(throughput.tooMany+perUpload.tooMany), "429s")
}
