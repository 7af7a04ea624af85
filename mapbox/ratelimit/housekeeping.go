package ratelimit

import "context"

// housekeepingKey marks a context whose API requests are housekeeping.
type housekeepingKey struct{}

// Housekeeping returns a context whose API requests wait at the lowest
// priority of the budget: work nobody waits for, such as removing old
// upload statuses from Mapbox's list (mapbox.cleanup_completed_after).
//
// A Budget lets a housekeeping request go only when no other request waits
// and the slot before it went unused, one at a time in the order they
// came: housekeeping never takes a slot a file or a poll wanted, never
// more than every other slot, and waits as long as the budget is busy
// (its context's deadline, if any, ends the wait). The priority is a mark
// on the context rather than an endpoint, so the request is still counted
// under its real endpoint (delete, list) in logs and metrics.
//
// A Limiter that does not know the mark (IsHousekeeping) treats such a
// request as its endpoint's own priority.
func Housekeeping(ctx context.Context) context.Context {
	return context.WithValue(ctx, housekeepingKey{}, true)
}

// IsHousekeeping reports whether ctx, or a context it derives from, was
// marked by Housekeeping.
func IsHousekeeping(ctx context.Context) bool {
	v, _ := ctx.Value(housekeepingKey{}).(bool)
	return v
}
