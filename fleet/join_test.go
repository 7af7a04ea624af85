package fleet

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// nodesSeen records what Options.NodesSeen is told.
type nodesSeen struct {
	mu    sync.Mutex
	calls []int
}

func (s *nodesSeen) record(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, n)
}

func (s *nodesSeen) get() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// TestOpenWhileRedisDown: with nothing listening on Redis' port, Open
// returns a Fleet at once that has not joined: not reachable, budgets in
// fallback on 1/KnownNodes of the budget (the account's and the
// publishes'), leases and ledger refused with ErrUnreachable. Once
// redis-server starts on that port, the heartbeat joins the fleet: the
// node is listed, the budgets are shared again, NodesSeen is told the
// count, and told again only when it changes.
func TestOpenWhileRedisDown(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 60*time.Second)
	h.srv.Kill()
	seen := &nodesSeen{}
	start := time.Now()
	f := h.open("a", func(o *Options) { o.KnownNodes, o.NodesSeen = 3, seen.record })
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Open took %v with nothing listening", took)
	}
	if ok, err := f.Reachable(); ok || err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("Reachable() = %v, %v; want false, does not answer", ok, err)
	}
	b := f.Budget(6000, defaultBudgetOptions())
	pub := f.PublishBudget(2, defaultBudgetOptions())
	s := b.Stats()
	if want := 3 * spacingFor(6000, time.Minute); !s.Shared || !s.Fallback || s.Nodes != 3 || s.Spacing != want {
		t.Errorf("budget before joining: %+v; want fallback, 3 nodes, spacing %v", s, want)
	}
	if s, want := pub.Stats(), 3*spacingFor(2, time.Minute); !s.Fallback || s.Spacing != want {
		t.Errorf("publish budget before joining: %+v; want fallback, spacing %v", s, want)
	}
	for range 2 { // it never stops for want of Redis
		waitN(t, b, mapbox.EndpointCreate, 10*time.Second)
	}
	if f.metrics.Fallbacks.Load() != 1 {
		t.Errorf("Metrics.Fallbacks = %d, want 1 (the account's budget started in fallback)", f.metrics.Fallbacks.Load())
	}
	if _, err := f.TryAcquire(ctx, "acme.roads"); !errors.Is(err, ErrUnreachable) {
		t.Errorf("TryAcquire before joining: %v; want ErrUnreachable", err)
	}
	if _, _, err := f.Held(ctx, "acme.roads"); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("Held before joining: %v; want ErrUnreachable and why", err)
	}
	if got := h.log.String(); !strings.Contains(got, "Redis at "+h.srv.URL()+" does not answer: starting on this node's share of the budget; shared folders wait until it answers") {
		t.Errorf("no warning that the node starts without Redis:\n%s", tail(got, 20))
	}
	if got := seen.get(); len(got) != 0 {
		t.Errorf("NodesSeen called before any heartbeat reached Redis: %v", got)
	}

	h.srv.Restart(true)
	waitFor(t, "the node joining the fleet", 10*time.Second, func() bool { ok, _ := f.Reachable(); return ok })
	nodes, err := f.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].Name != "a" {
		t.Errorf("Nodes = %+v, %v; want a", nodes, err)
	}
	waitFor(t, "the budgets back on the shared budget", 10*time.Second, func() bool {
		return !b.Stats().Fallback && !pub.Stats().Fallback
	})
	if s := b.Stats(); s.Nodes != 1 || s.Spacing != spacingFor(6000, time.Minute) {
		t.Errorf("budget once joined: %+v", s)
	}
	waitN(t, b, mapbox.EndpointCreate, 10*time.Second)
	if !strings.Contains(h.log.String(), "joined the fleet") {
		t.Errorf("the log does not say the node joined:\n%s", tail(h.log.String(), 20))
	}
	l, err := f.TryAcquire(ctx, "acme.roads")
	if err != nil {
		t.Fatalf("TryAcquire once joined: %v", err)
	}
	l.Release(ctx)

	// NodesSeen is told of a change only: 3 known, then 1, then 2.
	h.open("b")
	waitFor(t, "NodesSeen told of node b", 10*time.Second, func() bool { return len(seen.get()) >= 2 })
	beats(t, h, "a", 3)
	if got := seen.get(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("NodesSeen calls = %v, want [1 2]", got)
	}
}

// beats waits until node's heartbeat has reached Redis n more times.
func beats(t *testing.T, h *harness, node string, n int) {
	t.Helper()
	rdb := h.srv.Client()
	key := newKeyspace("acme").node(node)
	last, count := "", -1
	waitFor(t, "heartbeats of "+node, 10*time.Second, func() bool {
		beat, err := rdb.HGet(context.Background(), key, "beat").Result()
		if err == nil && beat != last {
			last, count = beat, count+1
		}
		return count >= n
	})
}

// TestOpenAndCloseBehindABlackhole: a Redis that swallows every byte makes
// Open wait one Options.Timeout, not fail; a Fleet that never joined
// closes within a bound of Options.Timeout, its budget's waiters getting
// ErrClosed.
func TestOpenAndCloseBehindABlackhole(t *testing.T) {
	h := newHarness(t)
	p := h.srv.NewProxy()
	p.Blackhole()
	opts := h.options(p.URL(), "a")
	start := time.Now()
	f, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open behind a blackhole: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	if took := time.Since(start); took > 5*opts.Timeout {
		t.Errorf("Open took %v behind a blackhole (timeout %v)", took, opts.Timeout)
	}
	if ok, _ := f.Reachable(); ok {
		t.Error("Reachable behind a blackhole")
	}
	b := f.Budget(1, defaultBudgetOptions())
	waitN(t, b, mapbox.EndpointCreate, 10*time.Second) // the first slot of its share
	done := make(chan error, 1)
	go func() { done <- b.Wait(context.Background(), mapbox.EndpointCreate) }() // the next: a minute away
	waitFor(t, "a request waiting", 5*time.Second, func() bool { return b.Stats().Waiting == 1 })
	closed := make(chan error, 1)
	start = time.Now()
	go func() { closed <- f.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * opts.Timeout):
		t.Fatalf("Close of a Fleet that never joined still running after %v", 10*opts.Timeout)
	}
	t.Logf("Close took %v", time.Since(start))
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("the waiter got %v, want ErrClosed", err)
	}
}
