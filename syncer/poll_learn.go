package syncer

import (
	"slices"
	"time"
)

// processingTimes remembers how long Mapbox took to process the last
// uploads of each target (from the create, on this machine's clock, to the
// poll that found it complete), so that the first look at a new upload
// waits for most of the time uploads take: every list before that only
// says "still processing", and costs a request of the account's budget.
// Only the poller's goroutine uses it.
type processingTimes struct {
	recent map[string][]time.Duration // by state.Job.Target, the last processingKept
}

// processingKept is how many processing times are kept per target.
const processingKept = 8

// add notes that an upload of target took d to process.
func (p *processingTimes) add(target string, d time.Duration) {
	if d <= 0 {
		return
	}
	if p.recent == nil {
		p.recent = map[string][]time.Duration{}
	}
	r := append(p.recent[target], d)
	if len(r) > processingKept {
		r = r[len(r)-processingKept:]
	}
	p.recent[target] = r
}

// firstLook is how long after its create an upload of target is first
// looked at: first, or three quarters of the shortest recent processing
// time when that is longer (each found complete at a poll, so a little
// after it was), at most most.
func (p *processingTimes) firstLook(target string, first, most time.Duration) time.Duration {
	r := p.recent[target]
	if len(r) == 0 {
		return first
	}
	return min(max(first, slices.Min(r)*3/4), max(most, first))
}
