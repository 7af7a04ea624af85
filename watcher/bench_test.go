package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkReadyDelay writes 200 files a little apart and measures, for each,
// the time from the end of its write to its Ready event, beyond the settle
// time: the watcher's own latency (notification handling and timer slack in
// notify mode; up to one poll interval more in poll mode).
func BenchmarkReadyDelay(b *testing.B) {
	for _, mode := range modes {
		b.Run(string(mode), func(b *testing.B) {
			const files = 200
			dir := b.TempDir()
			w, err := New(Options{Root: dir, Mode: mode, Recursive: true, Settle: testSettle, PollInterval: testPoll})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(b.Context())
			errc := make(chan error, 1)
			go func() { errc <- w.Run(ctx) }()
			defer func() {
				cancel()
				for range w.Events() {
				}
				if err := <-errc; err != nil {
					b.Error(err)
				}
			}()
			if ev := <-w.Events(); ev.Kind != InitialScanDone {
				b.Fatalf("first event %+v", ev)
			}

			type arrival struct {
				rel string
				at  time.Time
			}
			var delays []time.Duration
			iter := 0
			for b.Loop() {
				iter++
				arrivals := make(chan arrival, files)
				go func() { // timestamps events as they come; ends after files events
					for range files {
						ev := <-w.Events()
						arrivals <- arrival{ev.Rel, time.Now()}
					}
				}()
				written := make(map[string]time.Time, files)
				for i := range files {
					rel := fmt.Sprintf("i%d-f%03d.geojson", iter, i)
					writeFile(b, filepath.Join(dir, rel), "{}")
					written[rel] = time.Now()
					time.Sleep(2 * time.Millisecond) // the workload: files arriving over time
				}
				for range files {
					a := <-arrivals
					delays = append(delays, a.at.Sub(written[a.rel])-testSettle)
				}
			}
			slices.Sort(delays)
			b.ReportMetric(ms(delays[len(delays)/2]), "ms-beyond-settle-p50")
			b.ReportMetric(ms(delays[len(delays)*99/100]), "ms-beyond-settle-p99")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPollCycle measures one poll cycle (a full walk comparing sizes and
// modification times) over 100,000 files (2,000 with -short), and the heap the
// watcher holds per file once they are all reported.
func BenchmarkPollCycle(b *testing.B) {
	n := 100000
	if testing.Short() {
		n = 2000
	}
	dir := b.TempDir()
	const perDir = 1000
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("dir%03d", i/perDir))
		if i%perDir == 0 {
			if err := os.Mkdir(sub, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		writeFile(b, filepath.Join(sub, fmt.Sprintf("parcels-%06d.geojson", i)), "{}")
	}

	before := heapAlloc()
	// Settle 1ns: every file is older than that, so the startup scan reports
	// them all at once and nothing stays pending.
	w, err := New(Options{Root: dir, Mode: Poll, Recursive: true, Settle: time.Nanosecond})
	if err != nil {
		b.Fatal(err)
	}
	w.mode = Poll
	ctx := b.Context()
	w.scan(ctx, "", scanStartup)
	if w.ix.files != n || w.settle.Len() != 0 || w.out.len() != n {
		b.Fatalf("after the startup scan: %d files, %d pending, %d queued; want %d, 0, %d", w.ix.files, w.settle.Len(), w.out.len(), n, n)
	}
	w.out = newOutbox() // as if the consumer took every event
	perFile := float64(heapAlloc()-before) / float64(n)

	cpu0 := cpuTime()
	for b.Loop() {
		w.scan(ctx, "", scanPoll)
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(ms(cpu)/float64(b.N), "cpu-ms/cycle")
	}
	b.ReportMetric(float64(n), "files")
	b.ReportMetric(perFile, "heap-B/file") // after b.Loop, which clears earlier metrics
	if w.out.len() != 0 || w.settle.Len() != 0 {
		b.Fatalf("an unchanged tree gave %d events and %d pending files", w.out.len(), w.settle.Len())
	}
	runtime.KeepAlive(w)
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
