package control

import (
	"fmt"
	"sync"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// DefaultStallAfter is how long work may wait with nothing moving before
// /healthz reports a stall.
const DefaultStallAfter = 30 * time.Minute

// Health is the verdict of /healthz.
type Health struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"` // why not OK
	// LastProgress is when the server last saw work move (or work arrive).
	LastProgress time.Time `json:"last_progress"`
	// Pending is the number of jobs queued or in flight.
	Pending int `json:"pending"`
}

// progress remembers the last change seen among the figures that move when
// work moves, and when it was seen.
type progress struct {
	mu   sync.Mutex
	mark [5]int64
	at   time.Time
}

// seen records the current figures at now and returns when they last changed.
func (p *progress) seen(now time.Time, mark [5]int64) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if mark != p.mark || p.at.IsZero() {
		p.mark, p.at = mark, now
	}
	return p.at
}

// Health judges whether the daemon works: its token is accepted, and work
// waiting has moved within StallAfter. It reads the queue counts, so it
// fails (not OK) when the state database cannot be read.
func (s *Server) Health() Health {
	now := s.now()
	act := s.src.Activity()
	var sent int64
	for _, t := range act.Transfers {
		sent += t.Sent
	}
	mark := [5]int64{act.LastDone.UnixNano(), act.BytesStaged, sent, act.Queued, s.api.answers.Load()}
	last := s.prog.seen(now, mark)
	if a := s.api.LastAnswer(); a.After(last) && !a.After(now) {
		last = a
	}
	counts, err := s.src.Records().Counts()
	if err != nil {
		return Health{Reason: fmt.Sprintf("cannot read the state database: %v", err), LastProgress: last}
	}
	return judge(now, act.AuthError, pending(counts), last, s.stallAfter)
}

// pending counts the jobs that should be moving: queued, in flight, and
// waiting to retry (a job that waits for StallAfter has not moved either:
// the network or the API has been failing that long). Failed ones wait for
// a person.
func pending(counts map[state.Stage]int) int {
	n := 0
	for st, c := range counts {
		switch st {
		case state.StageQueued, state.StageStaging, state.StageStaged, state.StageProcessing, state.StageRetryWait:
			n += c
		}
	}
	return n
}

// judge is the verdict: the token first, then a stall of pending work.
func judge(now time.Time, authErr error, pending int, last time.Time, stallAfter time.Duration) Health {
	h := Health{OK: true, LastProgress: last, Pending: pending}
	switch {
	case authErr != nil:
		h.OK, h.Reason = false, fmt.Sprintf("Mapbox refuses the token, nothing is sent: %v", authErr)
	case pending > 0 && now.Sub(last) > stallAfter:
		h.OK, h.Reason = false, fmt.Sprintf("%d job(s) pending and nothing has progressed for %s (since %s)",
			pending, now.Sub(last).Round(time.Second), last.Format(time.RFC3339))
	}
	return h
}
