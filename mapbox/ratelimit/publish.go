package ratelimit

import (
	"context"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Mapbox limits MTS publishes (publish, publish-changesets) to 2 a minute,
// apart from the account's other requests: publishes pass a budget of their
// own. And the rate-limit headers of an MTS answer describe that endpoint's
// own limit (100 or 3,000 a minute), not the account's: the account's
// budget must not learn the Uploads API's pace from them.

// WithPublishBudget returns the Limiter that sends the publish endpoints'
// requests through publish and every other request through account. Each
// budget learns only from its own endpoints' answers; the rate-limit
// headers of the other MTS endpoints are not learnt from (their 429s and
// outages still hold the account's budget). Stats are the account's; a
// publish waiting counts as forward work waiting.
func WithPublishBudget(account, publish Limiter) Limiter {
	return &split{account: account, publish: publish}
}

type split struct{ account, publish Limiter }

// IsPublish reports whether ep starts an MTS job (a billed publish).
func IsPublish(ep mapbox.Endpoint) bool {
	return ep == mapbox.EndpointPublish || ep == mapbox.EndpointPublishChanges
}

func (s *split) Wait(ctx context.Context, ep mapbox.Endpoint) error {
	if IsPublish(ep) {
		return s.publish.Wait(ctx, ep)
	}
	return s.account.Wait(ctx, ep)
}

func (s *split) Observe(ex mapbox.Exchange) {
	switch {
	case IsPublish(ex.Endpoint):
		s.publish.Observe(ex)
	case mapbox.IsMTS(ex.Endpoint):
		ex.RateLimit.Limit, ex.RateLimit.Interval = 0, 0 // that endpoint's own limit
		s.account.Observe(ex)
	default:
		s.account.Observe(ex)
	}
}

func (s *split) Stats() Stats { return s.account.Stats() }

func (s *split) ForwardWaiting() int { return s.account.ForwardWaiting() + s.publish.ForwardWaiting() }

var _ Limiter = (*split)(nil)
