package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Publishes are paced by their own budget (2 a minute), while the other
// requests keep the account's pace beside them.
func TestPublishBudgetPacesPublishesApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		account, publish := NewBudget(600, Options{}), NewBudget(2, Options{})
		l := WithPublishBudget(account, publish)
		start := time.Now()
		var pubs []time.Duration
		for range 3 {
			if err := l.Wait(context.Background(), mapbox.EndpointPublish); err != nil {
				t.Fatal(err)
			}
			pubs = append(pubs, time.Since(start))
		}
		if pubs[1] < 30*time.Second || pubs[2] < 60*time.Second {
			t.Errorf("publishes at %v, want 30 s apart at least", pubs)
		}
		// The account's requests were not held by the publishes.
		before := time.Now()
		for range 5 {
			if err := l.Wait(context.Background(), mapbox.EndpointJob); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(before); d > time.Second {
			t.Errorf("5 job polls took %v beside the publishes, want the account's pace (0.1 s apart)", d)
		}
		if account.Stats().Granted != 5 || publish.Stats().Granted != 3 {
			t.Errorf("granted account %d, publish %d; want 5 and 3", account.Stats().Granted, publish.Stats().Granted)
		}
	})
}

// An MTS endpoint's own limit (its rate-limit headers) is not taken for
// the account's; a publish's is learnt by the publish budget alone.
func TestPublishBudgetLearnsApart(t *testing.T) {
	err429 := answerError(t, 429, map[string]string{"X-Rate-Limit-Reset": fmt.Sprint(synctestEpoch.Add(time.Minute).Unix())})
	synctest.Test(t, func(t *testing.T) {
		account, publish := NewBudget(30, Options{}), NewBudget(2, Options{})
		l := WithPublishBudget(account, publish)
		l.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointJob, Status: 200,
			RateLimit: mapbox.RateLimit{Limit: 3000, Interval: time.Minute}})
		if st := account.Stats(); st.Limit != 30 {
			t.Errorf("the account learnt %d a %v from a job answer, want its 30 a minute", st.Limit, st.Window)
		}
		l.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointPublish, Status: 200,
			RateLimit: mapbox.RateLimit{Limit: 4, Interval: time.Minute}})
		if st := publish.Stats(); st.Limit != 4 {
			t.Errorf("the publish budget has %d a %v, want the 4 a minute it was told", st.Limit, st.Window)
		}
		if st := account.Stats(); st.Limit != 30 {
			t.Errorf("the account learnt from a publish answer: %d", st.Limit)
		}
		// A 429 on publish holds publishes, not the account.
		l.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointPublish, Status: 429, Err: err429})
		if !account.Stats().BlockedUntil.IsZero() || publish.Stats().BlockedUntil.IsZero() {
			t.Errorf("after a publish's 429: account held until %v, publishes until %v; want publishes only",
				account.Stats().BlockedUntil, publish.Stats().BlockedUntil)
		}
	})
}
