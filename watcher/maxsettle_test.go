package watcher

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestMaxSettleWarning runs the whole loop in poll mode inside a synctest
// bubble, whose clock is fake: a file appended to every second for ever is
// reported after MaxSettle, with a warning, without the test waiting ten real
// minutes. (Notify mode cannot run in a bubble: fsnotify's goroutine waits in
// a system call, which the fake clock does not see as idle.)
func TestMaxSettleWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		w, err := New(Options{
			Root: dir, Mode: Poll, Settle: 5 * time.Second, MaxSettle: 10 * time.Minute,
			PollInterval: time.Second, Logger: testLogger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()
		if ev := <-w.Events(); ev.Kind != InitialScanDone {
			t.Fatalf("first event %+v, want initial-scan-done", ev)
		}

		start := time.Now()
		writerDone := make(chan struct{})
		go func() { // a log someone keeps appending to
			defer close(writerDone)
			f, err := os.Create(filepath.Join(dir, "app.log"))
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			for ctx.Err() == nil {
				if _, err := f.WriteString("line\n"); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Second) // fake time
			}
		}()
		ev := <-w.Events()
		elapsed := time.Since(start)
		if ev.Kind != Ready || ev.Rel != "app.log" || !strings.Contains(ev.Warning, "still changing after 10m0s") {
			t.Errorf("event %+v, want Ready app.log with a warning", ev)
		}
		if elapsed < 10*time.Minute || elapsed > 10*time.Minute+2*time.Second {
			t.Errorf("reported after %v, want 10m (MaxSettle)", elapsed)
		}
		cancel()
		<-writerDone
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
