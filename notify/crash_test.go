package notify_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/notify"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// TestCrashRedelivers: the state file is closed while a message is on the
// wire (the endpoint has it, its answer is not recorded), as a crash
// would leave it. After reopening, every message is delivered: at least
// once, the one in flight twice, with the same Idempotency-Key both times.
func TestCrashRedelivers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	store := statetest.OpenPath(t, path, state.Options{})
	e := newEndpoint(t, 0, 0)
	release := e.hold(t)
	targets := []notify.Target{{URL: mustURL(t, e.srv.URL+"/hook")}}
	n1, err := notify.New(notify.Options{Outbox: store, Concurrency: 1, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	const events = 10
	for i := range events {
		n1.Notify(notify.Event{Kind: notify.Uploaded, Tileset: fmt.Sprintf("alice.t%d", i)})
	}
	done := make(chan error, 1)
	go func() { done <- n1.Run(context.Background()) }()
	e.waitArrivals(t, 1) // the first message is on the wire
	store.Close()        // the crash
	release()            // the endpoint takes it; nobody can record that
	select {
	case err := <-done:
		if !errors.Is(err, state.ErrClosed) {
			t.Fatalf("Run after the store closed: %v, want state.ErrClosed", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after the store closed")
	}

	// The restart.
	e.mu.Lock()
	e.release = nil
	e.mu.Unlock()
	store2 := statetest.OpenPath(t, path, state.Options{})
	if counts, _ := store2.OutboxCounts(); counts[notify.Key(targets[0].URL)] != events {
		t.Fatalf("after the crash the outbox holds %v, want all %d", counts, events)
	}
	n2, err := notify.New(notify.Options{Outbox: store2, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	run(t, n2)
	e.waitArrivals(t, events)
	waitFor(t, "an empty outbox", outboxEmpty(t, store2))

	byID := map[string][]string{}
	for _, p := range e.delivered(t) {
		byID[p.ID] = append(byID[p.ID], p.Tileset)
	}
	if len(byID) != events {
		t.Errorf("%d distinct events delivered, want %d", len(byID), events)
	}
	twice := 0
	for id, ts := range byID {
		if len(ts) > 1 {
			twice++
			if ts[0] != "alice.t0" {
				t.Errorf("event %s (%s) delivered %d times; only the one in flight may repeat", id, ts[0], len(ts))
			}
		}
	}
	if twice != 1 {
		t.Errorf("%d events delivered twice, want exactly the one in flight", twice)
	}
	for _, r := range e.requests() {
		if r.header.Get("Idempotency-Key") == "" {
			t.Error("a request without an Idempotency-Key")
		}
	}
}
