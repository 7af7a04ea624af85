package watcher

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestSettlerShapefileSettlesAsASet: the parts of a shapefile are due only
// when every part has been unchanged for the settle time, however the
// writes were spread; other files are not held.
func TestSettlerShapefileSettlesAsASet(t *testing.T) {
	s := newSettler(time.Second, time.Minute)
	st := stat{size: 1, mtime: 1}
	s.Observe("d/roads.shp", st, at(0), true, false)
	s.Observe("d/other.geojson", st, at(0), true, false)
	s.Observe("d/roads.SHX", st, at(600*time.Millisecond), true, false)
	s.Observe("d/ROADS.dbf", st, at(1200*time.Millisecond), true, false)
	s.Observe("e/roads.dbf", st, at(1200*time.Millisecond), true, false) // another folder: another set
	if got := dueRels(s.Due(at(time.Second))); !slices.Equal(got, []string{"d/other.geojson"}) {
		t.Fatalf("Due at 1s = %v, want only d/other.geojson: the .shx and .dbf are still changing", got)
	}
	s.Done("d/other.geojson")
	if got := dueRels(s.Due(at(1600 * time.Millisecond))); len(got) != 0 {
		t.Fatalf("Due at 1.6s = %v, want nothing: the .dbf changed at 1.2s", got)
	}
	if next, _ := s.NextDeadline(); next.After(at(2200 * time.Millisecond)) {
		t.Fatalf("NextDeadline = %v, want at most 2.2s", next.Sub(t0))
	}
	got := dueRels(s.Due(at(2200 * time.Millisecond)))
	slices.Sort(got)
	if !slices.Equal(got, []string{"d/ROADS.dbf", "d/roads.SHX", "d/roads.shp", "e/roads.dbf"}) {
		t.Fatalf("Due at 2.2s = %v, want the whole set (and e/roads.dbf)", got)
	}
	for _, rel := range got {
		s.Done(rel)
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d after Done, want 0", s.Len())
	}

	// A part that keeps changing holds its set only until MaxSettle.
	s = newSettler(time.Second, 10*time.Second)
	s.Observe("roads.shp", st, at(0), true, false)
	for i := range 30 {
		now := at(time.Duration(i) * 500 * time.Millisecond)
		s.Observe("roads.dbf", stat{size: int64(i), mtime: 1}, now, true, false)
		for _, d := range s.Due(now) {
			if d.rel != "roads.shp" {
				continue
			}
			if now.Before(at(10*time.Second)) || !d.overdue || !d.held {
				t.Fatalf("roads.shp due at %v: %+v; want it held until MaxSettle (10s), then overdue", now.Sub(t0), d)
			}
			return
		}
	}
	t.Fatal("the .shp was held past MaxSettle")
}

// TestShapefilePartsCopiedWithPauses runs the loop in poll mode under
// synctest: the parts of a shapefile are replaced one after another with
// pauses longer than half the settle time but shorter than it. No part is
// reported before the last one settled, so a consumer never zips a mix of
// old and new parts.
func TestShapefilePartsCopiedWithPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const settle = 5 * time.Second
		dir := t.TempDir()
		parts := []string{"roads.shp", "roads.shx", "roads.dbf"}
		for _, p := range parts {
			writeFile(t, filepath.Join(dir, p), "old")
		}
		w, err := New(Options{Root: dir, Mode: Poll, Settle: settle, PollInterval: time.Second, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		for ev := range w.Events() {
			if ev.Kind == InitialScanDone {
				break
			}
		}

		start := time.Now()
		go func() {
			for i, p := range parts {
				if i > 0 {
					time.Sleep(3 * time.Second) // 0.6 × settle
				}
				if err := os.WriteFile(filepath.Join(dir, p), []byte("new!"), 0o644); err != nil {
					t.Error(err)
				}
			}
		}()
		reported := map[string]bool{}
		for len(reported) < len(parts) {
			ev := <-w.Events()
			if ev.Kind != Ready {
				t.Fatalf("event %+v, want Ready", ev)
			}
			elapsed := time.Since(start)
			for _, p := range parts {
				if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != "new!" {
					t.Fatalf("%s reported after %v while %s is %q: a mixed shapefile", ev.Rel, elapsed, p, b)
				}
			}
			if elapsed < 6*time.Second+settle {
				t.Errorf("%s reported after %v, want at least %v (the last part's write and the settle time)", ev.Rel, elapsed, 6*time.Second+settle)
			}
			reported[ev.Rel] = true
		}
		cancel()
		for range w.Events() {
		}
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
