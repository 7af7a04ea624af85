package fleet

import (
	"errors"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// skewed returns a clock that reads d off the real one. Every time the fleet
// package reads goes through its Fleet's clock, so a node given this one
// behaves as if its machine's clock were d off: if any of its times reached
// Redis, the other nodes would see them d off.
func skewed(d time.Duration) func(*Options) {
	return func(o *Options) { o.now = func() time.Time { return time.Now().Add(d) } }
}

// TestClockSkewIsIrrelevant: one node 10 minutes ahead, one 10 minutes
// behind, one right. Holds, intents, heartbeats and leases look the same to
// all: shared times come from Redis.
func TestClockSkewIsIrrelevant(t *testing.T) {
	h := newHarness(t)
	ahead, behind, right := h.open("ahead", skewed(10*time.Minute)), h.open("behind", skewed(-10*time.Minute)), h.open("right")

	t.Run("heartbeats", func(t *testing.T) { skewedHeartbeats(t, right) })
	t.Run("a 429's hold", func(t *testing.T) { skewedHold(t, ahead, behind, right) })
	t.Run("intent times", func(t *testing.T) { skewedIntent(t, h, ahead, behind) })
	t.Run("lease expiry", func(t *testing.T) { skewedLease(t, ahead, behind) })
}

// skewedHeartbeats: every node looks alive and recently seen to the others.
func skewedHeartbeats(t *testing.T, right *Fleet) {
	ctx := ctxFor(t, 30*time.Second)
	nodes, err := right.Nodes(ctx)
	if err != nil || len(nodes) != 3 {
		t.Fatalf("Nodes = %+v, %v", nodes, err)
	}
	for _, n := range nodes {
		if n.Seen > time.Second || n.Expires > 600*time.Millisecond {
			t.Errorf("node %s: seen %v ago, expires in %v", n.Name, n.Seen, n.Expires)
		}
	}
}

// skewedHold: a 429 seen by the node ahead holds the node behind for the
// reset's 2 s, not 2 s ± 10 minutes.
func skewedHold(t *testing.T, ahead, behind, right *Fleet) {
	ctx := ctxFor(t, 30*time.Second)
	ba := ahead.Budget(6000, defaultBudgetOptions())
	bb := behind.Budget(6000, defaultBudgetOptions())
	// The 429 as the node ahead's client makes it: the reset is a time
	// of its own clock, 2 s from its now.
	err429 := answerError(t, 429, map[string]string{"Retry-After": "2"})
	var apiErr *mapbox.APIError
	if !errors.As(err429, &apiErr) {
		t.Fatal("no APIError")
	}
	apiErr.RetryAt = ahead.now().Add(2 * time.Second)
	start := time.Now()
	ba.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointCreate, Status: 429, Err: err429})
	waitFor(t, "the hold in Redis", 5*time.Second, func() bool {
		info, err := right.Info(ctx)
		return err == nil && info.Held > 0
	})
	info, err := right.Info(ctx)
	if err != nil || info.Held > 2*time.Second {
		t.Errorf("the shared hold is %v (%v), want at most 2 s", info.Held, err)
	}
	waitN(t, bb, mapbox.EndpointList, 30*time.Second)
	if waited := time.Since(start); waited < 1900*time.Millisecond || waited > 20*time.Second {
		t.Errorf("the node behind waited %v for a 2 s hold", waited)
	}
}

// skewedIntent: an intent's time is Redis', whoever wrote it.
func skewedIntent(t *testing.T, h *harness, ahead, behind *Fleet) {
	ctx := ctxFor(t, 30*time.Second)
	l, err := ahead.Acquire(ctx, "acme.skew")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetIntent(ctx, "h", "https://s3/k"); err != nil {
		t.Fatal(err)
	}
	in, ok, err := behind.Intent(ctx, "acme.skew")
	if err != nil || !ok {
		t.Fatalf("Intent: %v, %v", ok, err)
	}
	redisNow, err := h.srv.Client().Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if d := redisNow.Sub(in.At); d < 0 || d > 5*time.Second || in.Age < 0 || in.Age > 5*time.Second {
		t.Errorf("intent at %v (age %v), Redis' now %v", in.At, in.Age, redisNow)
	}
	l.Release(ctx)
}

// skewedLease: a lease left by the node ahead expires after its TTL for the
// node behind: neither at once nor 20 minutes later.
func skewedLease(t *testing.T, ahead, behind *Fleet) {
	ctx := ctxFor(t, 30*time.Second)
	l, err := ahead.Acquire(ctx, "acme.expiry")
	if err != nil {
		t.Fatal(err)
	}
	abandon(l)
	start := time.Now()
	lb, err := behind.Acquire(ctx, "acme.expiry")
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 500*time.Millisecond || waited > 10*time.Second {
		t.Errorf("the node behind took over a 1 s lease after %v", waited)
	}
	if _, ok := lb.TookOver(); !ok {
		t.Error("no takeover")
	}
}
