package fleet

import "sync/atomic"

// Metrics count what the fleet did, for /metrics and status. The fields are
// updated in place; read them with Load.
type Metrics struct {
	// BudgetWaits counts requests that waited for the shared budget: the
	// fleet's GCRA limiter said "not yet", or a shared hold was in force.
	BudgetWaits atomic.Int64
	// Takeovers counts leases taken over from a holder whose lease expired
	// (it died or lost Redis) instead of being released.
	Takeovers atomic.Int64
	// Fallbacks counts the times the budget fell back to this node's local
	// share because Redis could not be reached.
	Fallbacks atomic.Int64
	// RedisErrors counts heartbeats that did not reach Redis.
	RedisErrors atomic.Int64
	// DataLosses counts the times Redis was seen to have lost the fleet's
	// data (restarted without its append-only file).
	DataLosses atomic.Int64
}
