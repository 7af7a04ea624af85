package notify_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tilesyncd/tilesyncd/notify"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// stamping records when (on the bubble's clock) each request to each host
// left.
type stamping struct {
	inner http.RoundTripper
	mu    sync.Mutex
	at    map[string][]time.Time
}

func (s *stamping) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.at[req.URL.Host] = append(s.at[req.URL.Host], time.Now())
	s.mu.Unlock()
	return s.inner.RoundTrip(req)
}

func (s *stamping) gaps(host string) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(s.at[host]); i++ {
		out = append(out, s.at[host][i].Sub(s.at[host][i-1]))
	}
	return out
}

// bubbleClient is an HTTP client for use inside a synctest bubble: the
// servers stay outside it, and no idle connection outlives a request (a
// goroutine waiting on the network would stop the bubble's clock).
func bubbleClient() (*http.Client, *stamping) {
	st := &stamping{inner: &http.Transport{DisableKeepAlives: true}, at: map[string][]time.Time{}}
	return &http.Client{Transport: st}, st
}

// TestRetriesWithBackoff: an endpoint that fails three times (503) is
// tried again after about 1, 2 and 4 seconds (each between half and all of
// it), gets the message on the fourth attempt, and the outbox counted the
// attempts meanwhile.
func TestRetriesWithBackoff(t *testing.T) {
	e := newEndpoint(t, 3, http.StatusServiceUnavailable)
	synctest.Test(t, func(t *testing.T) {
		store := statetest.Open(t, state.Options{})
		client, stamps := bubbleClient()
		var logs logBuffer
		n, err := notify.New(notify.Options{Outbox: store, HTTPClient: client, Logger: logs.logger(),
			Targets: []notify.Target{{URL: mustURL(t, e.srv.URL)}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- n.Run(ctx) }()
		n.Notify(notify.Event{Kind: notify.Failed, Tileset: "alice.a"})

		time.Sleep(2500 * time.Millisecond) // two failures, at most 1 s apart
		synctest.Wait()
		pending, err := store.OutboxPending(notify.Key(mustURL(t, e.srv.URL)), 0)
		if err != nil || len(pending) != 1 || pending[0].Attempts < 2 || !strings.Contains(pending[0].LastError, "503") {
			t.Errorf("outbox meanwhile: %+v, %v; want one entry with attempts and the 503", pending, err)
		}

		time.Sleep(time.Hour)
		gaps := stamps.gaps(e.srv.Listener.Addr().String())
		if len(gaps) != 3 {
			t.Fatalf("%d attempts, want 4", len(gaps)+1)
		}
		for i, g := range gaps {
			full := time.Second << i
			if g < full/2 || g > full {
				t.Errorf("wait %d was %s, want %s to %s", i+1, g, full/2, full)
			}
		}
		if d := e.delivered(t); len(d) != 1 {
			t.Errorf("delivered %d, want 1", len(d))
		}
		keys := map[string]bool{}
		for _, r := range e.requests() {
			keys[r.header.Get("Idempotency-Key")] = true
		}
		if len(keys) != 1 {
			t.Errorf("the attempts carried %d Idempotency-Keys, want one", len(keys))
		}
		if c, _ := store.OutboxCounts(); len(c) != 0 {
			t.Errorf("outbox after delivery: %v", c)
		}
		if got := strings.Count(logs.String(), "will retry"); got != 3 || !strings.Contains(logs.String(), "notifications delivered again") {
			t.Errorf("%d retry warnings, want 3, and one line when delivered:\n%s", got, logs.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestBackoffCappedAndRetryAfter: the waits of an endpoint that keeps
// failing stop growing at MaxBackoff (and stay above half of it); another
// answering 429 with Retry-After: 20 is tried again after 20 seconds.
func TestBackoffCappedAndRetryAfter(t *testing.T) {
	down := newEndpoint(t, 1<<30, http.StatusInternalServerError)
	busy := newEndpoint(t, 1, http.StatusTooManyRequests)
	busy.failHeader = http.Header{"Retry-After": {"20"}}
	synctest.Test(t, func(t *testing.T) {
		store := statetest.Open(t, state.Options{})
		client, stamps := bubbleClient()
		n, err := notify.New(notify.Options{Outbox: store, HTTPClient: client, MaxBackoff: time.Minute,
			Targets: []notify.Target{{URL: mustURL(t, down.srv.URL)}, {URL: mustURL(t, busy.srv.URL)}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- n.Run(ctx) }()
		n.Notify(notify.Event{Kind: notify.Health, Status: "degraded"})
		time.Sleep(time.Hour)

		gaps := stamps.gaps(down.srv.Listener.Addr().String())
		if len(gaps) < 60 { // 1+2+…+32 s, then at most a minute each
			t.Errorf("%d attempts in an hour, want more than 60", len(gaps)+1)
		}
		for i, g := range gaps {
			if g > time.Minute || (i >= 7 && g < 30*time.Second) {
				t.Errorf("wait %d was %s: want at most 1m, and at least 30s once capped", i+1, g)
			}
		}
		if g := stamps.gaps(busy.srv.Listener.Addr().String()); len(g) != 1 || g[0] != 20*time.Second {
			t.Errorf("after Retry-After: 20 the next attempt came after %v, want [20s]", g)
		}
		if d := busy.delivered(t); len(d) != 1 {
			t.Errorf("the busy endpoint got %d, want 1", len(d))
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}
