package mapbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestClockOffset runs a server whose clock is 10 minutes ahead of, then
// behind, the local one: the client learns the offset within the
// documented ±1 s (plus the round trip), from answers that succeed and from
// answers that fail, and reports each answer's Date in Exchange.ServerTime.
func TestClockOffset(t *testing.T) {
	for _, shift := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(shift.String(), func(t *testing.T) {
			srv, _ := mapboxsim.StartMem(t, mapboxsim.Options{Username: "alice",
				Clock: clock.Offset(shift)})
			var mu sync.Mutex
			var seen []mapbox.Exchange
			observe := func(x mapbox.Exchange) {
				mu.Lock()
				seen = append(seen, x)
				mu.Unlock()
			}
			c := newClient(t, mapbox.Options{BaseURL: srv.URL(), Username: "alice", Token: srv.Token(), Observe: observe})
			if off, ok := c.ClockOffset(); ok {
				t.Fatalf("ClockOffset before any answer = %v, true", off)
			}
			ctx := context.Background()
			sent := time.Now()
			if _, err := c.List(ctx, mapbox.ListOptions{}); err != nil {
				t.Fatal(err)
			}
			got := time.Now()
			off, ok := c.ClockOffset()
			tol := time.Second + got.Sub(sent)
			if !ok || off < shift-tol || off > shift+tol {
				t.Errorf("ClockOffset = %v, %v; want %v ± %v", off, ok, shift, tol)
			}
			st := seen[0].ServerTime
			if st.IsZero() || st.Before(sent.Add(shift).Add(-time.Second)) || st.After(got.Add(shift)) {
				t.Errorf("Exchange.ServerTime = %v, want between %v and %v", st, sent.Add(shift), got.Add(shift))
			}

			// A 429's RetryAt is local: the rest of the window, not a time
			// of Mapbox's clock 10 minutes off.
			srv.RateLimitFor(30 * time.Second)
			sent = time.Now()
			_, err := c.List(ctx, mapbox.ListOptions{})
			got = time.Now()
			srv.RateLimitFor(0)
			at, ok := mapbox.RetryAt(err)
			if !ok || at.Before(sent.Add(29*time.Second)) || at.After(got.Add(32*time.Second)) {
				t.Errorf("RetryAt = %v, %v (%v from now); want about 30 s from now", at, ok, time.Until(at))
			}

			// A refused request teaches the clock as well.
			bad := newClient(t, mapbox.Options{BaseURL: srv.URL(), Username: "alice", Token: "pk.wrong"})
			sent = time.Now()
			if _, err := bad.List(ctx, mapbox.ListOptions{}); err == nil {
				t.Fatal("a wrong token was accepted")
			}
			got = time.Now()
			off, ok = bad.ClockOffset()
			tol = time.Second + got.Sub(sent)
			if !ok || off < shift-tol || off > shift+tol {
				t.Errorf("ClockOffset after a 401 = %v, %v; want %v ± %v", off, ok, shift, tol)
			}
		})
	}
}

// TestClockOffsetFollowsAStep checks that the median of the latest answers
// follows a step of Mapbox's clock after three answers, and that one odd
// answer does not move it.
func TestClockOffsetFollowsAStep(t *testing.T) {
	var mu sync.Mutex
	shift := time.Duration(0)
	srv, _ := mapboxsim.StartMem(t, mapboxsim.Options{Username: "alice", Clock: clock.Func(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(shift)
	})})
	setShift := func(d time.Duration) {
		mu.Lock()
		shift = d
		mu.Unlock()
	}
	c := newClient(t, mapbox.Options{BaseURL: srv.URL(), Username: "alice", Token: srv.Token()})
	list := func() {
		t.Helper()
		if _, err := c.List(context.Background(), mapbox.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	near := func(what string, want time.Duration) {
		t.Helper()
		off, ok := c.ClockOffset()
		if !ok || off < want-2*time.Second || off > want+2*time.Second {
			t.Errorf("%s: ClockOffset = %v, %v; want about %v", what, off, ok, want)
		}
	}
	for range 5 {
		list()
	}
	near("steady", 0)
	setShift(time.Hour) // one odd answer
	list()
	setShift(0)
	near("after one odd answer", 0)
	setShift(-5 * time.Minute)
	for range 3 {
		list()
	}
	near("after three answers of a new clock", -5*time.Minute)
}
