package syncer

import (
	"slices"
	"sync"

	"github.com/tilesyncd/tilesyncd/state"
)

// Publishes go one at a time (Mapbox allows 2 a minute), in queue order:
// a job that finds the slot taken is noted as waiting, and when the slot
// is let go after a publish, the oldest job still waiting for it is made
// due at once and no younger job may take it before. Without the order, a
// job staged just as the slot came free took it while older ones slept
// out their retry waits: an old change could wait many minutes under a
// steady stream of new ones.

// publishSlot is the one publish slot and the jobs waiting for it.
type publishSlot struct {
	mu      sync.Mutex
	holder  uint64          // the job publishing now, 0 for none
	waiting map[uint64]bool // job IDs that found the slot taken
}

// takeSlot gives the publish slot to j when it is free and no older job
// still waits for it; else j is noted as waiting.
func (m mts) takeSlot(j state.Job) bool {
	p := &m.pub.slot
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holder == 0 {
		older := m.oldestWaiting(p, j.ID)
		if older == 0 {
			p.holder = j.ID
			delete(p.waiting, j.ID)
			return true
		}
	}
	p.waiting[j.ID] = true
	return false
}

// releaseSlot lets the slot go. After a publish was sent (or tried) the
// oldest job waiting for it is made due now; a job that did not publish
// (the account's queue at Mapbox is full) waits its turn among the others,
// keeping its place, and wakes nobody (they would find the queue full too).
func (m mts) releaseSlot(j state.Job, published bool) {
	p := &m.pub.slot
	p.mu.Lock()
	p.holder = 0
	next := uint64(0)
	if published {
		next = m.oldestWaiting(p, 0)
	} else {
		p.waiting[j.ID] = true
	}
	p.mu.Unlock()
	if next != 0 {
		m.retryNow(next)
	}
}

// oldestWaiting returns the oldest job other than id that still waits to
// publish (below id, unless id is 0), forgetting those that no longer do
// (published, superseded, gone, or paused); 0 for none. p.mu is held.
func (m mts) oldestWaiting(p *publishSlot, id uint64) uint64 {
	ids := make([]uint64, 0, len(p.waiting))
	for w := range p.waiting {
		if w != id && (id == 0 || w < id) {
			ids = append(ids, w)
		}
	}
	slices.Sort(ids)
	for _, w := range ids {
		j, ok, err := m.store.Job(w)
		if err == nil && ok && j.UploadID == "" && !m.held(j) &&
			(j.Stage == state.StageStaged || j.Stage == state.StageRetryWait && j.RetryFrom == state.StageStaged) {
			return w
		}
		delete(p.waiting, w)
	}
	return 0
}

// retryNow makes a job waiting to retry due now, and wakes the dispatcher.
func (s *Syncer) retryNow(id uint64) {
	if _, err := s.store.Reschedule(id, s.now()); err == nil {
		s.scheduleRetry(id, s.now())
	}
	signal(s.wake)
}
