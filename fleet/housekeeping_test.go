package fleet

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
)

// TestBudgetHousekeepingLast: on one node, housekeeping requests (a context
// marked by ratelimit.Housekeeping; here deletes) go after every forward
// request and poll, one at a time, each only after a slot that went
// unused: at least two spacings after the grant before it, where the other
// grants are one spacing apart. On the shared budget and in fallback.
func TestBudgetHousekeepingLast(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback=%v", fallback), func(t *testing.T) {
			h := newHarness(t)
			if fallback {
				h.srv.Kill() // the node starts without Redis: on its share, 1/1 here
			}
			const perMinute = 300 // a slot every 206 ms
			b := h.open("a").Budget(perMinute, defaultBudgetOptions())
			if b.Stats().Fallback != fallback {
				t.Fatalf("Stats = %+v, want fallback %v", b.Stats(), fallback)
			}
			type grant struct {
				ep mapbox.Endpoint
				at time.Time
			}
			var mu sync.Mutex
			var grants []grant
			b.mu.Lock()
			b.onGrant = func(ep mapbox.Endpoint) {
				mu.Lock()
				grants = append(grants, grant{ep, time.Now()})
				mu.Unlock()
			}
			b.mu.Unlock()

			// A 429 holds the budget while the requests queue.
			err429 := answerError(t, 429, map[string]string{"Retry-After": "1"})
			b.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointList, Status: 429, Err: err429})
			queue := []struct {
				ep   mapbox.Endpoint
				chor bool
			}{{mapbox.EndpointDelete, true}, {mapbox.EndpointDelete, true}, {mapbox.EndpointList, false},
				{mapbox.EndpointCreate, false}, {mapbox.EndpointCreate, false}, {mapbox.EndpointCreate, false}}
			var wg sync.WaitGroup
			for i, q := range queue {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if q.chor {
					ctx = ratelimit.Housekeeping(ctx)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := b.Wait(ctx, q.ep); err != nil {
						t.Errorf("Wait(%s): %v", q.ep, err)
					}
				}()
				waitFor(t, "the request queued", 5*time.Second, func() bool { return b.Stats().Waiting == i+1 })
			}
			wg.Wait()

			mu.Lock()
			defer mu.Unlock()
			var order []mapbox.Endpoint
			for _, g := range grants {
				order = append(order, g.ep)
			}
			if got, want := fmt.Sprint(order), "[create create create list delete delete]"; got != want {
				t.Fatalf("order = %s\nwant    %s (housekeeping last)", got, want)
			}
			spacing := spacingFor(perMinute, time.Minute)
			for i := 1; i < len(grants); i++ {
				gap := grants[i].at.Sub(grants[i-1].at)
				t.Logf("%s after %v", grants[i].ep, gap.Round(time.Millisecond))
				if grants[i].ep == mapbox.EndpointDelete && gap < spacing*3/2 {
					t.Errorf("housekeeping went %v after the grant before it: the slot between was not left unused (spacing %v)", gap, spacing)
				}
			}
			if s := b.Stats(); s.Waited <= 0 || s.Granted != 6 {
				t.Errorf("Stats = %+v", s)
			}
		})
	}
}

// TestHousekeepingWaitsForAnIdleFleet: a housekeeping request on node a
// never takes a slot while node b uses every slot of the shared budget; it
// goes once b stops.
func TestHousekeepingWaitsForAnIdleFleet(t *testing.T) {
	h := newHarness(t)
	const perMinute = 120 // a slot every 515 ms
	a := h.open("a").Budget(perMinute, defaultBudgetOptions())
	b := h.open("b").Budget(perMinute, defaultBudgetOptions())

	busy, stop := context.WithCancel(context.Background())
	defer stop()
	var granted atomic.Int64
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b.Wait(busy, mapbox.EndpointCreate) == nil {
				granted.Add(1)
			}
		}()
	}
	waitFor(t, "node b busy", 5*time.Second, func() bool { return granted.Load() >= 1 })

	chore := make(chan bool, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ratelimit.Housekeeping(context.Background()), 30*time.Second)
		defer cancel()
		if err := a.Wait(ctx, mapbox.EndpointDelete); err != nil {
			t.Errorf("housekeeping Wait: %v", err)
		}
		chore <- stopped.Load()
	}()
	waitFor(t, "the housekeeping request waiting", 5*time.Second, func() bool { return a.Stats().Waiting == 1 })
	from := granted.Load()
	waitFor(t, "node b taking 4 more slots", 10*time.Second, func() bool { return granted.Load() >= from+4 })
	stopped.Store(true)
	stop()
	wg.Wait()
	select {
	case afterStop := <-chore:
		if !afterStop {
			t.Error("the housekeeping request went while node b used every slot")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the housekeeping request did not go once the fleet was idle")
	}
}

// TestIdleSlotSharesRedisRateKey: the housekeeping slot script and
// redis_rate read and write one key in one format: a slot taken by either
// is seen by the other.
func TestIdleSlotSharesRedisRateKey(t *testing.T) {
	h := newHarness(t)
	f := h.open("a")
	b := f.Budget(60, defaultBudgetOptions())
	ctx := ctxFor(t, 30*time.Second)
	limit := redis_rate.Limit{Rate: 1, Burst: 1, Period: 10 * time.Second} // one slot each 10 s

	res, err := b.idleSlot(ctx, limit)
	if err != nil || res.Allowed != 1 {
		t.Fatalf("idle slot on a fresh key: %+v, %v", res, err)
	}
	res, err = f.limiter.Allow(ctx, b.keys.budget, limit)
	if err != nil || res.Allowed != 0 || res.RetryAfter < 9*time.Second || res.RetryAfter > 10*time.Second {
		t.Errorf("redis_rate right after a housekeeping slot: %+v, %v; want refused for about 10 s", res, err)
	}

	if err := f.limiter.Reset(ctx, b.keys.budget); err != nil {
		t.Fatal(err)
	}
	if res, err = f.limiter.Allow(ctx, b.keys.budget, limit); err != nil || res.Allowed != 1 {
		t.Fatalf("redis_rate on a fresh key: %+v, %v", res, err)
	}
	res, err = b.idleSlot(ctx, limit)
	if err != nil || res.Allowed != 0 || res.RetryAfter < 19*time.Second || res.RetryAfter > 20*time.Second {
		t.Errorf("housekeeping right after redis_rate's slot: %+v, %v; want refused for about 20 s (the next slot must go unused)", res, err)
	}
	if ttl := h.srv.Client().TTL(ctx, b.keys.rateKey).Val(); ttl <= 0 || ttl > 10*time.Second {
		t.Errorf("the limiter's key has TTL %v", ttl)
	}
}
