package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// request is one request for grantsIn: its endpoint, and whether it is
// housekeeping.
type request struct {
	ep    mapbox.Endpoint
	house bool
}

func (r request) String() string {
	if r.house {
		return "house-" + string(r.ep)
	}
	return string(r.ep)
}

// grantsIn queues the requests in order, all waiting at once, and returns
// them in the order they were let through, with the times.
func grantsIn(t *testing.T, b *Budget, reqs ...request) ([]request, []time.Time) {
	t.Helper()
	type grant struct {
		r  request
		at time.Time
	}
	ch := make(chan grant, len(reqs))
	for _, r := range reqs {
		go func() {
			ctx := context.Background()
			if r.house {
				ctx = Housekeeping(ctx)
			}
			if err := b.Wait(ctx, r.ep); err != nil {
				t.Error(err)
			}
			ch <- grant{r, time.Now()}
		}()
		synctest.Wait() // queue them in order
	}
	var order []request
	var at []time.Time
	for range reqs {
		g := <-ch
		order, at = append(order, g.r), append(at, g.at)
	}
	return order, at
}

func TestHousekeepingGoesLast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(60, Options{})
		// One request takes the first slot; the rest queue behind it.
		if err := b.Wait(context.Background(), mapbox.EndpointList); err != nil {
			t.Fatal(err)
		}
		hk := request{mapbox.EndpointDelete, true}
		order, at := grantsIn(t, b, hk, hk, request{mapbox.EndpointStatus, false}, hk,
			request{mapbox.EndpointCreate, false}, request{mapbox.EndpointList, false})
		if got, want := fmt.Sprint(order), "[create status list house-delete house-delete house-delete]"; got != want {
			t.Errorf("order = %s\nwant    %s", got, want)
		}
		// Each housekeeping request leaves the slot before it unused.
		spacing := b.Stats().Spacing
		for i := 3; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 2*spacing {
				t.Errorf("housekeeping request %d went %v after the request before it, want at least 2 × %v", i-2, gap, spacing)
			}
		}
	})
}

// A housekeeping request waits as long as other requests keep the budget
// busy, and goes once a slot is left unused.
func TestHousekeepingWaitsForAFreeSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(60, Options{})
		spacing := b.Stats().Spacing
		done := make(chan time.Time, 1)
		go func() {
			if err := b.Wait(Housekeeping(context.Background()), mapbox.EndpointDelete); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		synctest.Wait()
		<-done // nothing else waited: it went at once
		start := time.Now()
		go func() {
			if err := b.Wait(Housekeeping(context.Background()), mapbox.EndpointDelete); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		// A poller asking again as soon as it is let through, 20 times.
		for range 20 {
			if err := b.Wait(context.Background(), mapbox.EndpointStatus); err != nil {
				t.Fatal(err)
			}
			select {
			case at := <-done:
				t.Fatalf("the housekeeping request went at %v, while polls kept the budget busy", at.Sub(start))
			default:
			}
		}
		waited := b.Stats().Waited
		last := time.Now()
		at := <-done
		if w := b.Stats().Waited; w != waited {
			t.Errorf("Stats().Waited grew by %v for the housekeeping request: it counts pressure on the budget, and housekeeping waits by design", w-waited)
		}
		if at.Sub(last) < 2*spacing || at.Sub(last) > 3*spacing {
			t.Errorf("housekeeping went %v after the last poll, want one unused slot (spacing %v)", at.Sub(last), spacing)
		}
	})
}

func TestHousekeepingCancelledWaiterLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(60, Options{})
		if err := b.Wait(context.Background(), mapbox.EndpointCreate); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(Housekeeping(context.Background()), time.Second)
		defer cancel()
		if err := b.Wait(ctx, mapbox.EndpointDelete); err != context.DeadlineExceeded {
			t.Fatalf("Wait = %v, want DeadlineExceeded", err)
		}
		if s := b.Stats(); s.Waiting != 0 || s.Granted != 1 {
			t.Errorf("after the cancelled wait: %+v", s)
		}
		if !IsHousekeeping(ctx) || IsHousekeeping(context.Background()) {
			t.Error("IsHousekeeping does not tell a marked context")
		}
	})
}
