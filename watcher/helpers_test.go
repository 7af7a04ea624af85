package watcher

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Test timings: short enough to keep the suite fast, long enough for a loaded
// two-core machine running the race detector.
const (
	testSettle = 200 * time.Millisecond
	testPoll   = 50 * time.Millisecond
	// waitLong bounds every wait for an event that must come.
	waitLong = 20 * time.Second
	// quiet is how long a test watches for an event that must not come: past
	// one settle time, a few polls and scheduling slack, anything due would
	// have been reported.
	quiet = 3*testSettle + 4*testPoll
)

var modes = []Mode{Notify, Poll}

// harness runs a Watcher on a fresh temporary folder for one test.
type harness struct {
	t    *testing.T
	dir  string
	w    *Watcher
	ch   <-chan Event
	seen []Event // every event received, in order
	// backlog holds events read but not yet matched by wait, oldest first.
	backlog []Event
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newHarness prepares a watcher on a temporary folder; setup may change the
// options and create files before it runs.
func newHarness(t *testing.T, mode Mode, setup func(dir string, o *Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	o := Options{
		Root: dir, Mode: mode, Recursive: true,
		Settle: testSettle, PollInterval: testPoll, RescanInterval: time.Hour,
		Logger: testLogger(t),
	}
	if setup != nil {
		setup(dir, &o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, dir: dir, w: w, ch: w.Events()}
}

// start runs the watcher until the test ends and returns the events of the
// startup scan, InitialScanDone last.
func (h *harness) start() []Event {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.w.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		for range h.ch { // Run closes the channel when it returns
		}
		if err := <-errc; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	})
	n := len(h.seen)
	h.wait(func(ev Event) bool { return ev.Kind == InitialScanDone }, waitLong)
	h.backlog = nil // returned here
	return h.seen[n:]
}

// waitEvent returns the first event on ch that satisfies pred, dropping the
// others, or fails the test after timeout.
func waitEvent(t *testing.T, ch <-chan Event, pred func(Event) bool, timeout time.Duration) Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("events closed while waiting")
			}
			if pred(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("no matching event within %v", timeout)
		}
	}
}

// wait is waitEvent that records every event it reads in h.seen and keeps
// the ones it does not match in h.backlog for later waits.
func (h *harness) wait(pred func(Event) bool, timeout time.Duration) Event {
	h.t.Helper()
	for i, ev := range h.backlog {
		if pred(ev) {
			h.backlog = append(h.backlog[:i], h.backlog[i+1:]...)
			return ev
		}
	}
	return waitEvent(h.t, h.ch, func(ev Event) bool {
		h.seen = append(h.seen, ev)
		if pred(ev) {
			return true
		}
		h.backlog = append(h.backlog, ev)
		return false
	}, timeout)
}

// collect returns the backlog and the events read until none has come for the
// quiet period.
func (h *harness) collect(quietFor time.Duration) []Event {
	h.t.Helper()
	out := h.backlog
	h.backlog = nil
	timer := time.NewTimer(quietFor)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-h.ch:
			if !ok {
				return out
			}
			h.seen = append(h.seen, ev)
			out = append(out, ev)
			timer.Reset(quietFor)
		case <-timer.C:
			return out
		}
	}
}

// waitAll waits until a Ready event has come for every rel in want.
func (h *harness) waitAll(kind Kind, want ...string) {
	h.t.Helper()
	left := make(map[string]bool, len(want))
	for _, rel := range want {
		left[rel] = true
	}
	deadline := time.Now().Add(waitLong)
	for len(left) > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("no %v event for %d paths within %v, e.g. %v", kind, len(left), waitLong, some(left))
		}
		ev := h.wait(func(ev Event) bool { return ev.Kind == kind && left[ev.Rel] }, time.Until(deadline))
		delete(left, ev.Rel)
	}
}

func some(m map[string]bool) []string {
	var out []string
	for k := range m {
		if out = append(out, k); len(out) == 5 {
			break
		}
	}
	return out
}

// waitFor polls cond until it holds or fails the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		<-tick.C
	}
}

func (h *harness) path(rel string) string { return filepath.Join(h.dir, filepath.FromSlash(rel)) }

func (h *harness) write(rel, content string) {
	h.t.Helper()
	p := h.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func describe(evs []Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\n  %v %q size=%d initial=%v %s", ev.Kind, ev.Rel, ev.Size, ev.Initial, ev.Warning)
	}
	return b.String()
}

var _ io.Writer = tlogWriter{}
