// Package ratelimit holds the rate budget every Mapbox API request of a
// process passes: the mapbox.Client's Gate and Observe, in the manner of
// restic's sema and retry decorators around a backend.
//
// Limiter is the seam: a Budget spaces one process's requests; a fleet-wide
// budget (on Redis) implements the same interface for several processes on
// one account. The sender and the status page see only a Limiter.
package ratelimit

import (
	"context"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Limiter is a rate budget for the API requests of one account.
type Limiter interface {
	// Wait blocks until a request to ep may be sent, or ctx ends (then it
	// returns ctx's error and takes no slot). The endpoint sets the
	// priority: requests that move a file forward (credentials, create) go
	// before polls (list, status, delete) when both wait; see Forward.
	// A context marked by Housekeeping waits behind both.
	Wait(ctx context.Context, ep mapbox.Endpoint) error
	// Observe learns from one API exchange once it has ended: the
	// account's limit from its headers, a 429's reset, an outage.
	Observe(ex mapbox.Exchange)
	// Stats describes the budget now, for status and metrics.
	Stats() Stats
	// ForwardWaiting is how many requests that move files forward wait
	// now; the poller leaves the budget to them.
	ForwardWaiting() int
}

// Forward reports whether a request to ep moves a file forward (credentials,
// create) rather than polling; forward requests take precedence.
func Forward(ep mapbox.Endpoint) bool {
	return ep == mapbox.EndpointCredentials || ep == mapbox.EndpointCreate || mapbox.MTSForward(ep)
}

var _ Limiter = (*Budget)(nil)
