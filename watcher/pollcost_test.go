package watcher

import (
	"context"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestPollEvery(t *testing.T) {
	tests := []struct {
		interval, cycle time.Duration
		share           float64
		want            time.Duration
	}{
		{10 * time.Second, 300 * time.Millisecond, 0.1, 10 * time.Second}, // cheap: the setting
		{10 * time.Second, time.Second, 0.1, 10 * time.Second},            // exactly a tenth
		{10 * time.Second, 3 * time.Second, 0.1, 30 * time.Second},        // 1,000,000 files
		{time.Second, 500 * time.Millisecond, 0.5, time.Second},
		{time.Second, 2 * time.Second, 1, 2 * time.Second}, // a whole core: rest as long as the walk
		{time.Second, time.Hour, 1e-9, maxPollEvery},       // capped, no overflow
		{48 * time.Hour, time.Hour, 1e-9, 48 * time.Hour},  // the setting above the cap
	}
	for _, tt := range tests {
		if got := pollEvery(tt.interval, tt.cycle, tt.share); got != tt.want {
			t.Errorf("pollEvery(%v, %v, %v) = %v, want %v", tt.interval, tt.cycle, tt.share, got, tt.want)
		}
	}
}

func TestPollMaxShareOption(t *testing.T) {
	o, err := Options{Root: "/x"}.withDefaults()
	if err != nil || o.PollMaxShare != DefaultPollMaxShare {
		t.Errorf("default PollMaxShare = %v, %v; want %v", o.PollMaxShare, err, DefaultPollMaxShare)
	}
	if o, err := (Options{Root: "/x", PollMaxShare: 1}).withDefaults(); err != nil || o.PollMaxShare != 1 {
		t.Errorf("PollMaxShare 1 = %v, %v; want 1", o.PollMaxShare, err)
	}
	for _, bad := range []float64{-0.1, 1.5, math.NaN(), math.Inf(1)} {
		_, err := Options{Root: "/x", PollMaxShare: bad}.withDefaults()
		if err == nil || !strings.Contains(err.Error(), "poll max share") {
			t.Errorf("PollMaxShare %v: error %v, want one naming the poll max share", bad, err)
		}
	}
}

// TestPollIntervalStretches runs the loop in poll mode under synctest, with
// each full scan made to cost a given time on the fake clock (the test hook
// sleeps in the walking goroutine, which the watcher measures as it would a
// slow walk). A 2.5 s walk (its cost 3 s, the collector's fifth added)
// with a 1 s poll interval is followed by 30 s of rest (10 %), logged once however many cycles it lasts; when the walk is
// cheap again, the interval is back to 1 s, logged once.
func TestPollIntervalStretches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"a.geojson", "b.geojson"} {
			writeFile(t, filepath.Join(dir, name), "{}")
		}
		logs := &testkit.Buffer{}
		w, err := New(Options{Root: dir, Mode: Poll, Settle: time.Second, PollInterval: time.Second,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		var cost atomic.Int64 // of each full scan, on the fake clock
		cost.Store(int64(2500 * time.Millisecond))
		w.hooks = &testHooks{fullScan: func() { time.Sleep(time.Duration(cost.Load())) }}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		go func() { // the consumer
			for range w.Events() {
			}
		}()
		defer func() { // also on t.Fatal: no goroutine left in the bubble
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()

		start := time.Now()
		at := func(d time.Duration) Status { // the status at start+d, once the loop is idle
			time.Sleep(time.Until(start.Add(d)))
			synctest.Wait()
			return w.Status()
		}
		// The startup scan ends at 2.5 s; each poll then waits 30 s and
		// takes 2.5 s: they end at 35 s and 67.5 s.
		for _, c := range []struct {
			at    time.Duration
			scans int
		}{{2 * time.Second, 0}, {4 * time.Second, 1}, {32 * time.Second, 1}, {37 * time.Second, 2}, {66 * time.Second, 2}, {68 * time.Second, 3}} {
			st := at(c.at)
			if st.Scans != c.scans || c.scans > 0 && st.PollEvery != 30*time.Second {
				t.Fatalf("at %v: %d scans, poll every %v; want %d, 30s", c.at, st.Scans, st.PollEvery, c.scans)
			}
		}
		cost.Store(int64(2750 * time.Millisecond)) // a little slower (cost 3.3 s): 33 s, not logged again
		if st := at(104 * time.Second); st.Scans != 4 || st.PollEvery != 33*time.Second {
			t.Fatalf("at 104s: %d scans, poll every %v; want 4, 33s", st.Scans, st.PollEvery)
		}
		cost.Store(0) // cheap again: the scan at 133.25 s takes nothing, then one a second
		if st := at(133500 * time.Millisecond); st.Scans != 5 || st.PollEvery != time.Second {
			t.Fatalf("at 133.5s: %d scans, poll every %v; want 5, 1s", st.Scans, st.PollEvery)
		}
		if st := at(143500 * time.Millisecond); st.Scans != 15 {
			t.Fatalf("at 143.5s: %d scans, want 15 (one a second)", st.Scans)
		}
		if n := strings.Count(logs.String(), "polling less often"); n != 1 {
			t.Errorf("%d lines saying the interval grew, want 1:\n%s", n, logs.String())
		}
		if n := strings.Count(logs.String(), "polling at the poll interval again"); n != 1 {
			t.Errorf("%d lines saying the interval is back, want 1", n)
		}
		if !strings.Contains(logs.String(), "every=30s") {
			t.Errorf("the log does not give the stretched interval:\n%s", logs.String())
		}
	})
}
