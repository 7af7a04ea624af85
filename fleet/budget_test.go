package fleet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
)

func defaultBudgetOptions() ratelimit.Options {
	return ratelimit.Options{MinOutage: 50 * time.Millisecond, MaxOutage: time.Second}
}

// TestBudgetSharedAcrossNodes: three nodes with requests always waiting get
// no more slots together than the one limit allows, counted between two
// readings of Redis' clock (every grant lies between them); and they use it.
func TestBudgetSharedAcrossNodes(t *testing.T) {
	h := newHarness(t)
	const perMinute = 1800 // 30 a second: a slot every 34.3 ms with the margin
	var budgets []*Budget
	for _, n := range []string{"a", "b", "c"} {
		budgets = append(budgets, h.open(n).Budget(perMinute, defaultBudgetOptions()))
	}
	rdb := h.srv.Client()
	start, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var granted [3]atomic.Int64
	var wg sync.WaitGroup
	for i, b := range budgets {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b.Wait(ctx, mapbox.EndpointCreate) == nil {
					granted[i].Add(1)
				}
			}()
		}
	}
	wg.Wait()
	end, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	total := granted[0].Load() + granted[1].Load() + granted[2].Load()
	spacing := spacingFor(perMinute, time.Minute)
	ceiling := int64(end.Sub(start)/spacing) + 1
	t.Logf("%d grants (a %d, b %d, c %d) in %v of Redis time; the ceiling is %d", total,
		granted[0].Load(), granted[1].Load(), granted[2].Load(), end.Sub(start), ceiling)
	if total > ceiling {
		t.Errorf("%d grants, more than the %d the shared limit allows", total, ceiling)
	}
	if total < ceiling/2 {
		t.Errorf("%d grants: the budget is barely used (ceiling %d)", total, ceiling)
	}
	for i := range granted {
		if granted[i].Load() == 0 {
			t.Errorf("node %d got no slot", i)
		}
	}
	var waits int64
	for _, b := range budgets {
		if s := b.Stats(); !s.Shared || s.Fallback || s.Nodes != 3 {
			t.Errorf("Stats = %+v, want shared, not in fallback, 3 nodes", s)
		}
		waits += b.f.metrics.BudgetWaits.Load()
	}
	if waits == 0 {
		t.Error("no request waited for the shared budget")
	}
}

// TestBudgetPriority: on one node, forward requests go first, with a poll
// after every third, as in the local budget.
func TestBudgetPriority(t *testing.T) {
	h := newHarness(t)
	b := h.open("a").Budget(6000, defaultBudgetOptions())
	var mu sync.Mutex
	var order []mapbox.Endpoint
	b.mu.Lock()
	b.onGrant = func(ep mapbox.Endpoint) {
		mu.Lock()
		order = append(order, ep)
		mu.Unlock()
	}
	b.mu.Unlock()

	// A 429 holds the budget while the requests queue.
	err429 := answerError(t, 429, map[string]string{"Retry-After": "1"})
	b.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointList, Status: 429, Err: err429})
	eps := []mapbox.Endpoint{mapbox.EndpointList, mapbox.EndpointList}
	for range 8 {
		eps = append(eps, mapbox.EndpointCreate)
	}
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitN(t, b, ep, 20*time.Second)
		}()
		waitFor(t, "the request queued", 5*time.Second, func() bool { return b.Stats().Waiting == i+1 })
	}
	wg.Wait()
	got := fmt.Sprint(order)
	want := "[create create create list create create create list create create]"
	if got != want {
		t.Errorf("order = %s\nwant    %s (forward first, a poll after every %d)", got, want, fairness)
	}
}

// TestSharedRateHold: a 429 seen by one node holds every node until its reset.
func TestSharedRateHold(t *testing.T) {
	h := newHarness(t)
	a := h.open("a").Budget(6000, defaultBudgetOptions())
	b := h.open("b").Budget(6000, defaultBudgetOptions())
	c := h.open("c")
	err429 := answerError(t, 429, map[string]string{"Retry-After": "2"})
	resetAt, ok := mapbox.RetryAt(err429)
	if !ok {
		t.Fatal("no RetryAt in the 429")
	}
	a.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointCreate, Status: 429, Err: err429})
	ctx := ctxFor(t, 30*time.Second)
	waitFor(t, "the hold in Redis", 5*time.Second, func() bool {
		info, err := c.Info(ctx)
		return err == nil && info.Held > 0
	})
	waitN(t, b, mapbox.EndpointCreate, 20*time.Second)
	if early := resetAt.Sub(time.Now()); early > 20*time.Millisecond {
		t.Errorf("node b sent %v before the reset node a was told", early)
	}
	if s := a.Stats(); s.RateLimited != 1 {
		t.Errorf("a: RateLimited = %d, want 1", s.RateLimited)
	}
}

// TestSharedOutageBackoff: transient failures seen by one node hold every
// node; a success on any node clears the hold for all.
func TestSharedOutageBackoff(t *testing.T) {
	h := newHarness(t)
	long := ratelimit.Options{MinOutage: 20 * time.Second, MaxOutage: time.Minute}
	a := h.open("a").Budget(6000, long)
	b := h.open("b").Budget(6000, long)
	err503 := answerError(t, 503, nil)
	a.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointCreate, Status: 503, Err: err503})
	rdb := h.srv.Client()
	ctx := ctxFor(t, 30*time.Second)
	waitFor(t, "the outage hold in Redis", 5*time.Second, func() bool {
		return rdb.PTTL(ctx, a.keys.holdOutage).Val() > 5*time.Second
	})
	done := make(chan error, 1)
	go func() { done <- b.Wait(ctx, mapbox.EndpointCreate) }()
	waitFor(t, "b waiting behind the hold", 5*time.Second, func() bool { return b.Stats().Waiting == 1 })
	select {
	case err := <-done:
		t.Fatalf("b went through the outage hold: %v", err)
	default:
	}
	start := time.Now()
	a.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointList, Status: 200})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("b waited %v after a's success cleared the hold", took)
	}
	if n := rdb.Exists(ctx, a.keys.holdOutage, a.keys.outageStreak).Val(); n != 0 {
		t.Errorf("%d outage keys left after a success", n)
	}
}

// TestFallbackWhenRedisDies: with Redis killed, nodes go on at their share
// of the budget and say so; back on the shared budget once it returns, with
// or without its data.
func TestFallbackWhenRedisDies(t *testing.T) {
	h := newHarness(t)
	fa, fb := h.open("a"), h.open("b")
	a := fa.Budget(6000, defaultBudgetOptions())
	fb.Budget(6000, defaultBudgetOptions())
	waitFor(t, "a seeing 2 nodes", 5*time.Second, func() bool { return a.Stats().Nodes == 2 })
	shared := a.Stats().Spacing

	h.srv.Kill()
	waitFor(t, "a in fallback", 10*time.Second, func() bool { return a.Stats().Fallback })
	for range 3 {
		waitN(t, a, mapbox.EndpointCreate, 10*time.Second)
	}
	s := a.Stats()
	if !s.Shared || !s.Fallback || s.Nodes != 2 || s.Spacing != 2*shared {
		t.Errorf("in fallback: %+v; want spacing 2 × %v", s, shared)
	}
	if fa.metrics.Fallbacks.Load() == 0 {
		t.Error("Metrics.Fallbacks = 0")
	}
	if ok, err := fa.Reachable(); ok || err == nil {
		t.Errorf("Reachable() = %v, %v with Redis dead", ok, err)
	}

	// A 429 still holds this node while Redis is away.
	err429 := answerError(t, 429, map[string]string{"Retry-After": "1"})
	resetAt, _ := mapbox.RetryAt(err429)
	a.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointCreate, Status: 429, Err: err429})
	waitN(t, a, mapbox.EndpointCreate, 10*time.Second)
	if time.Now().Before(resetAt) {
		t.Error("in fallback, a request went before a 429's reset")
	}

	h.srv.Restart(true)
	waitFor(t, "a back on the shared budget", 10*time.Second, func() bool { return !a.Stats().Fallback })
	waitN(t, a, mapbox.EndpointCreate, 10*time.Second)
	if got := h.log.String(); !strings.Contains(got, "falls back to its share") || !strings.Contains(got, "back on the fleet's shared budget") {
		t.Errorf("the log does not say the budget fell back and returned:\n%s", tail(got, 30))
	}

	h.srv.Restart(false)
	waitFor(t, "the data loss noticed", 10*time.Second, func() bool { return fa.metrics.DataLosses.Load() > 0 })
	waitFor(t, "b registered again", 10*time.Second, func() bool {
		nodes, err := fa.Nodes(context.Background())
		return err == nil && len(nodes) == 2
	})
	waitN(t, a, mapbox.EndpointCreate, 10*time.Second)
}

// TestBudgetThroughPartitionAndSlowRedis: a partition (the proxy cuts and
// refuses connections) and a blackhole (it swallows them) put the node in
// fallback; a slow Redis does not.
func TestBudgetThroughPartitionAndSlowRedis(t *testing.T) {
	h := newHarness(t)
	p := h.srv.NewProxy()
	f := h.open("a", via(p.URL()))
	b := f.Budget(6000, defaultBudgetOptions())
	waitN(t, b, mapbox.EndpointCreate, 10*time.Second)

	for _, cut := range []struct {
		name string
		do   func()
	}{{"partition", p.Partition}, {"blackhole", p.Blackhole}} {
		cut.do()
		waitFor(t, cut.name+": fallback", 10*time.Second, func() bool { return b.Stats().Fallback })
		waitN(t, b, mapbox.EndpointCreate, 10*time.Second)
		p.Heal()
		waitFor(t, cut.name+": back on the shared budget", 10*time.Second, func() bool { return !b.Stats().Fallback })
	}

	p.SetLatency(50 * time.Millisecond) // 100 ms a round trip, under the 500 ms timeout
	before := f.metrics.Fallbacks.Load()
	for range 5 {
		waitN(t, b, mapbox.EndpointCreate, 10*time.Second)
	}
	if s := b.Stats(); s.Fallback || f.metrics.Fallbacks.Load() != before {
		t.Errorf("a slow Redis put the budget in fallback: %+v", s)
	}
}
