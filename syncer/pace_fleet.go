package syncer

import "time"

// fleetPollFactor slows the polls of a node whose budget is shared with
// other nodes (fleet mode), while files wait for the budget: every node's
// lists come out of one account's budget, and a processing upload blocks
// nothing but its own tileset's next job, so while the budget is the
// bottleneck it goes to moving files. With N nodes, each lists every
// BusyGap × N × fleetPollFactor (at most maxFleetBusyGap): the fleet as a
// whole lists fleetPollFactor times less often than one node alone.
const (
	fleetPollFactor = 4
	maxFleetBusyGap = 10 * time.Minute
)

// busyGap is the least time between two lists while other work waits for
// the API budget.
func (s *Syncer) busyGap() time.Duration {
	if s.budget == nil {
		return s.pace.BusyGap
	}
	st := s.budget.Stats()
	if !st.Shared || st.Nodes <= 1 {
		return s.pace.BusyGap
	}
	return min(s.pace.BusyGap*time.Duration(st.Nodes*fleetPollFactor), max(maxFleetBusyGap, s.pace.BusyGap))
}

// alone reports whether this node spends its budget alone (no fleet, or a
// fleet of one): only then is a budget with nothing waiting free for polls.
func (s *Syncer) alone() bool {
	if s.budget == nil {
		return true
	}
	st := s.budget.Stats()
	return !st.Shared || st.Nodes <= 1
}
