package fleet

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
)

// TestPublishBudgetShared: two nodes, each with the account's budget and a
// publish budget of 2 a minute (learned from a publish's answer as 2 per
// 400 ms, to keep the test short), all four with requests always waiting:
// together the nodes get no more publishes than the one publish limit
// allows, and the account's budget its own slots beside them, each on its
// own keys.
func TestPublishBudgetShared(t *testing.T) {
	h := newHarness(t)
	const perMinute = 1800
	publishLimit := mapbox.RateLimit{Limit: 2, Interval: 400 * time.Millisecond}
	var accounts, publishes []*Budget
	for _, n := range []string{"a", "b"} {
		f := h.open(n)
		accounts = append(accounts, f.Budget(perMinute, defaultBudgetOptions()))
		p := f.PublishBudget(2, defaultBudgetOptions())
		p.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointPublish, Status: 200, RateLimit: publishLimit})
		publishes = append(publishes, p)
	}
	rdb := h.srv.Client()
	ctx := ctxFor(t, 30*time.Second)
	waitFor(t, "the publish limit in Redis", 5*time.Second, func() bool {
		return rdb.HGet(ctx, publishes[0].keys.limit, "limit").Val() == "2"
	})
	start, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	run, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var published, requested atomic.Int64
	var wg sync.WaitGroup
	loop := func(b *Budget, ep mapbox.Endpoint, n *atomic.Int64) {
		defer wg.Done()
		for b.Wait(run, ep) == nil {
			n.Add(1)
		}
	}
	for i := range accounts {
		for range 2 {
			wg.Add(2)
			go loop(publishes[i], mapbox.EndpointPublish, &published)
			go loop(accounts[i], mapbox.EndpointCreate, &requested)
		}
	}
	wg.Wait()
	end, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	took := end.Sub(start)
	pubCeiling := int64(took/spacingFor(publishLimit.Limit, publishLimit.Interval)) + 1
	accCeiling := int64(took/spacingFor(perMinute, time.Minute)) + 1
	t.Logf("in %v of Redis time: %d publishes (ceiling %d), %d other requests (ceiling %d)",
		took, published.Load(), pubCeiling, requested.Load(), accCeiling)
	if n := published.Load(); n > pubCeiling || n < pubCeiling/2 {
		t.Errorf("%d publishes granted to the two nodes; the shared publish limit allows %d", n, pubCeiling)
	}
	if n := requested.Load(); n > accCeiling || n < accCeiling/2 {
		t.Errorf("%d other requests granted beside the publishes; the account's limit allows %d", n, accCeiling)
	}
	for _, k := range []string{accounts[0].keys.rateKey, publishes[0].keys.rateKey} {
		if rdb.Exists(ctx, k).Val() != 1 {
			t.Errorf("no limiter key %s", k)
		}
	}
	if s := publishes[1].Stats(); s.Limit != 2 || s.Window != publishLimit.Interval || s.Fallback {
		t.Errorf("node b's publish budget: %+v", s)
	}
}

// TestPublishHoldIsItsOwn: a 429 to a publish on node a holds node b's
// publishes until the reset, not its other requests.
func TestPublishHoldIsItsOwn(t *testing.T) {
	h := newHarness(t)
	var accounts, publishes []*Budget
	for _, n := range []string{"a", "b"} {
		f := h.open(n)
		accounts = append(accounts, f.Budget(1800, defaultBudgetOptions()))
		publishes = append(publishes, f.PublishBudget(2, defaultBudgetOptions()))
	}
	rdb := h.srv.Client()
	ctx := ctxFor(t, 30*time.Second)
	err429 := answerError(t, 429, map[string]string{"Retry-After": "2"})
	resetAt, _ := mapbox.RetryAt(err429)
	publishes[0].Observe(mapbox.Exchange{Endpoint: mapbox.EndpointPublish, Status: 429, Err: err429})
	waitFor(t, "the publish hold in Redis", 5*time.Second, func() bool {
		return rdb.PTTL(ctx, publishes[0].keys.holdRate).Val() > 0
	})
	if n := rdb.Exists(ctx, accounts[0].keys.holdRate).Val(); n != 0 {
		t.Error("a publish's 429 holds the account's budget")
	}
	waitN(t, accounts[1], mapbox.EndpointCreate, 5*time.Second)
	if time.Now().After(resetAt) {
		t.Error("node b's other request waited for the publish's reset")
	}
	waitN(t, publishes[1], mapbox.EndpointPublish, 20*time.Second)
	if early := resetAt.Sub(time.Now()); early > 20*time.Millisecond {
		t.Errorf("node b published %v before the reset node a was told", early)
	}
}

// TestPublishBudgetFallback: without Redis, the publish budget spends 1/N
// of its limit, N the nodes last seen, as the account's does.
func TestPublishBudgetFallback(t *testing.T) {
	h := newHarness(t)
	fa := h.open("a")
	h.open("b")
	p := fa.PublishBudget(2, ratelimit.Options{})
	waitFor(t, "a seeing 2 nodes", 5*time.Second, func() bool { return p.Stats().Nodes == 2 })
	h.srv.Kill()
	waitFor(t, "the publish budget in fallback", 10*time.Second, func() bool { return p.Stats().Fallback })
	if s, want := p.Stats(), 2*spacingFor(2, time.Minute); s.Spacing != want {
		t.Errorf("publish budget in fallback: %+v; want spacing %v", s, want)
	}
	if n := fa.metrics.Fallbacks.Load(); n != 0 {
		t.Errorf("Metrics.Fallbacks = %d: the publish budget counted its fallback as the account's", n)
	}
}
