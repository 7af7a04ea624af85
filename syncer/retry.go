package syncer

import (
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// Retry deadlines. A job waiting to retry has its next attempt stored as a
// wall-clock time (it must survive a restart), but within a process the
// syncer keeps it on the monotonic clock: a clock set back or forward while
// tilesyncd runs (a laptop resyncing with NTP after sleep) neither holds a
// job for the length of the jump nor retries it early. At start, a stored
// deadline further ahead than the longest wait the syncer ever schedules
// (the clock was set back since it was stored) is brought forward to that.

// scheduleRetry remembers when job id is next due, on the monotonic clock.
func (s *Syncer) scheduleRetry(id uint64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAt[id] = time.Now().Add(at.Sub(s.now())) // on the monotonic clock
}

// due reports whether a queued or retry-wait job may start now (a paused
// folder's may not: pause.go).
func (s *Syncer) due(j state.Job) bool {
	if s.held(j) {
		return false
	}
	if j.Stage == state.StageQueued || j.NextAttempt.IsZero() {
		return true // `tilesyncd retry` made it due now
	}
	s.mu.Lock()
	at, ok := s.retryAt[j.ID]
	s.mu.Unlock()
	if !ok {
		return !j.NextAttempt.After(s.now())
	}
	return !time.Now().Before(at)
}

// untilNextRetry returns how long until the earliest retry-wait job is due
// (ok false if none waits, a paused folder's aside), and forgets the
// deadlines of jobs that no longer wait.
func (s *Syncer) untilNextRetry() (time.Duration, bool, error) {
	jobs, err := s.store.ListJobs(state.JobFilter{Stages: []state.Stage{state.StageRetryWait}})
	if err != nil {
		return 0, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	waiting := make(map[uint64]bool, len(jobs))
	var wait time.Duration
	found := false
	for _, j := range jobs {
		waiting[j.ID] = true
		if s.held(j) {
			continue
		}
		d := j.NextAttempt.Sub(s.now())
		if at, ok := s.retryAt[j.ID]; ok {
			d = time.Until(at) // monotonic
		}
		if j.NextAttempt.IsZero() {
			d = 0
		}
		if !found || d < wait {
			wait, found = d, true
		}
	}
	for id := range s.retryAt {
		if !waiting[id] {
			delete(s.retryAt, id)
		}
	}
	return wait, found, nil
}

// longestWait is the longest wait the syncer schedules for a retry, but
// for a refused token's and a 429's: after a restart the first request
// probes the token, and the budget holds every request until the reset
// of a 429 it meets again, so retrying those sooner costs nothing.
func (s *Syncer) longestWait() time.Duration {
	return max(s.backoff.Max, busyWait+s.backoff.Max)
}

// loadRetries puts the stored deadlines of the jobs waiting to retry on the
// monotonic clock, bringing forward any that lies further ahead than the
// longest wait (and storing that).
func (s *Syncer) loadRetries() error {
	jobs, err := s.store.ListJobs(state.JobFilter{Stages: []state.Stage{state.StageRetryWait}})
	if err != nil {
		return err
	}
	now := s.now()
	longest := s.longestWait()
	for _, j := range jobs {
		at := j.NextAttempt
		if at.Sub(now) > longest {
			s.log.Warn("a job's next attempt lies further ahead than any wait tilesyncd schedules (the clock was set back?); it is retried sooner",
				"job", j, "retry_at", at.Format(time.RFC3339), "now", now.Format(time.RFC3339))
			at = now.Add(longest)
			if _, err := s.store.Reschedule(j.ID, at); err != nil {
				return err
			}
		}
		s.scheduleRetry(j.ID, at)
	}
	return nil
}
