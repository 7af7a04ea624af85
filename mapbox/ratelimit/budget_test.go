package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// grants runs n requests to ep through b, all waiting at once, and returns
// the times they were let through, in order.
func grants(t *testing.T, b *Budget, eps ...mapbox.Endpoint) ([]time.Time, []mapbox.Endpoint) {
	t.Helper()
	type grant struct {
		at time.Time
		ep mapbox.Endpoint
	}
	ch := make(chan grant, len(eps))
	for _, ep := range eps {
		go func() {
			if err := b.Wait(context.Background(), ep); err != nil {
				t.Error(err)
			}
			ch <- grant{time.Now(), ep}
		}()
		synctest.Wait() // queue them in order
	}
	var at []time.Time
	var order []mapbox.Endpoint
	for range eps {
		g := <-ch
		at = append(at, g.at)
		order = append(order, g.ep)
	}
	return at, order
}

func repeat(ep mapbox.Endpoint, n int) []mapbox.Endpoint {
	out := make([]mapbox.Endpoint, n)
	for i := range out {
		out[i] = ep
	}
	return out
}

func TestBudgetSpacesRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(30, Options{})
		start := time.Now()
		at, _ := grants(t, b, repeat(mapbox.EndpointCreate, 70)...)
		// However the 60-second windows fall, none holds more than 30 requests.
		for i := range at {
			n := 0
			for j := i; j < len(at) && at[j].Sub(at[i]) < time.Minute; j++ {
				n++
			}
			if n > 30 {
				t.Fatalf("%d requests in the minute from %v", n, at[i].Sub(start))
			}
		}
		// And the budget is used: 70 requests take little more than 69 spacings.
		if took := at[len(at)-1].Sub(start); took > 69*2100*time.Millisecond {
			t.Errorf("70 requests took %v, want about 69 × 2.06s", took)
		}
	})
}

func TestBudgetHoldsEverythingUntilTheReset(t *testing.T) {
	reset := synctestEpoch.Add(45 * time.Second)
	err429 := answerError(t, 429, map[string]string{"X-Rate-Limit-Reset": fmt.Sprint(reset.Unix()),
		"X-Rate-Limit-Limit": "30", "X-Rate-Limit-Interval": "60"})
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(30, Options{})
		b.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointList, Status: 429, Err: err429})
		at, _ := grants(t, b, mapbox.EndpointCreate, mapbox.EndpointList, mapbox.EndpointCredentials)
		for _, a := range at {
			if a.Before(reset) {
				t.Errorf("a request went at %v, before the reset at %v", a, reset)
			}
		}
		if s := b.Stats(); s.RateLimited != 1 {
			t.Errorf("Stats().RateLimited = %d, want 1", s.RateLimited)
		}
	})
}

// answerError returns the error the real client makes of an HTTP answer with
// status and headers, from a real server. Made outside a synctest bubble, it
// can be used inside one: an error is just a value.
func answerError(t *testing.T, status int, header map[string]string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, `{"message":"test answer"}`)
	}))
	defer srv.Close()
	c, err := mapbox.New(mapbox.Options{BaseURL: srv.URL, Username: "u", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(context.Background(), mapbox.ListOptions{Limit: 1})
	if err == nil {
		t.Fatalf("HTTP %d: no error", status)
	}
	return err
}

// synctestEpoch is where a synctest bubble's clock starts.
var synctestEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBudgetPriorityWithoutStarvation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(60, Options{})
		// One request takes the first slot; the rest queue behind it.
		if err := b.Wait(context.Background(), mapbox.EndpointList); err != nil {
			t.Fatal(err)
		}
		eps := append(repeat(mapbox.EndpointList, 2), repeat(mapbox.EndpointCreate, 8)...)
		_, order := grants(t, b, eps...)
		got := fmt.Sprint(order)
		want := "[create create create list create create create list create create]"
		if got != want {
			t.Errorf("order = %s\nwant    %s (forward first, a poll after every %d)", got, want, fairness)
		}
	})
}

func TestBudgetLearnsTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(30, Options{})
		b.Observe(mapbox.Exchange{Status: 200, RateLimit: mapbox.RateLimit{Limit: 120, Interval: time.Minute}})
		if s := b.Stats(); s.Limit != 120 || s.Spacing > 520*time.Millisecond {
			t.Errorf("after a 120/min answer: %+v", s)
		}
	})
}

func TestBudgetSharedOutageBackoff(t *testing.T) {
	err503 := answerError(t, 503, nil)
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(6000, Options{}) // spacing no obstacle
		fail := mapbox.Exchange{Endpoint: mapbox.EndpointCreate, Status: 503, Err: err503}
		var last time.Duration
		for i := range 10 {
			start := time.Now()
			b.Observe(fail)
			if err := b.Wait(context.Background(), mapbox.EndpointCreate); err != nil {
				t.Fatal(err)
			}
			waited := time.Since(start)
			if i > 0 && waited < last/2 || waited > defaultMaxOutage {
				t.Errorf("failure %d: waited %v after %v before", i+1, waited, last)
			}
			last = waited
		}
		if last < 30*time.Second {
			t.Errorf("after 10 failures the backoff is %v, want it grown", last)
		}
		b.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointList, Status: 200})
		start := time.Now()
		if err := b.Wait(context.Background(), mapbox.EndpointList); err != nil {
			t.Fatal(err)
		}
		if w := time.Since(start); w > time.Second {
			t.Errorf("after a success a request waited %v", w)
		}
	})
}

func TestBudgetCancelledWaiterLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(1, Options{})
		if err := b.Wait(context.Background(), mapbox.EndpointCreate); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Wait(ctx, mapbox.EndpointCreate); err != context.DeadlineExceeded {
			t.Fatalf("Wait = %v, want DeadlineExceeded", err)
		}
		if s := b.Stats(); s.Waiting != 0 || s.Granted != 1 {
			t.Errorf("after the cancelled wait: %+v", s)
		}
	})
}
