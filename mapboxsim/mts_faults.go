package mapboxsim

import (
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// mtsFaults are the MTS failures to inject, guarded by Server.mu. The
// faults of every endpoint (FailNext, DropNext, FailAfterNext,
// DropAfterNext, GarbleNext, SetFailureRate, SetDelay, SetUnreachable)
// apply to the MTS endpoints as they are.
type mtsFaults struct {
	// limitedUntil is the end of a RateLimitMTSFor window, per endpoint
	// ("" for all), on the server clock.
	limitedUntil map[mapbox.Endpoint]time.Time
	// stalled are the tilesets whose queued jobs do not start ("" for all).
	stalled map[string]bool
	// floor is when the last stall ended: no job starts before it.
	floor      time.Time
	lateDelete time.Duration
	dropMid    []byteCountdown
}

// byteCountdown is "cut the next n uploads to ep after after bytes".
type byteCountdown struct {
	ep    mapbox.Endpoint
	n     int
	after int64
}

// stalledAt reports whether the queued jobs of tileset stay queued.
func (f *mtsFaults) stalledAt(tileset string) bool {
	return f.stalled[tileset] || f.stalled[""]
}

// takeDrop consumes one DropMidUpload fault for ep, if any.
func (f *mtsFaults) takeDrop(ep mapbox.Endpoint) (int64, bool) {
	for i, c := range f.dropMid {
		if c.ep == "" || c.ep == ep {
			f.dropMid[i].n--
			if f.dropMid[i].n <= 0 {
				f.dropMid = append(f.dropMid[:i:i], f.dropMid[i+1:]...)
			}
			return c.after, true
		}
	}
	return 0, false
}

// clearFaults turns the MTS faults off; stalled jobs start from now on.
func (m *mtsState) clearFaults(now time.Time) {
	m.advance(now)
	m.faults = mtsFaults{floor: now}
}

// RateLimitMTSFor answers every authenticated request to the MTS endpoint
// ep (every MTS endpoint if ep is "") 429 until d has passed on the server
// clock, with the three X-Rate-Limit-* headers (the reset at the window's
// end) and Retry-After if Options.RetryAfter: as when another client of
// the account spent the endpoint's budget. d <= 0 ends it; ClearFaults too.
func (s *Server) RateLimitMTSFor(ep mapbox.Endpoint, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.mts.faults
	if f.limitedUntil == nil {
		f.limitedUntil = map[mapbox.Endpoint]time.Time{}
	}
	delete(f.limitedUntil, ep)
	if d > 0 {
		f.limitedUntil[ep] = s.now().Add(d)
	}
}

// StallJobs keeps the queued jobs of tileset ("" for every tileset) queued
// while stalled is true: jobs stuck in queued. Jobs already processing
// finish. Once released, they start from the time of the release on.
func (s *Server) StallJobs(tileset string, stalled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.mts.advance(now)
	f := &s.mts.faults
	if f.stalled == nil {
		f.stalled = map[string]bool{}
	}
	if stalled {
		f.stalled[tileset] = true
		return
	}
	delete(f.stalled, tileset)
	f.floor = now
}

// SetLateDeletes makes the deletes of sources and changesets from now on
// visible only d later (0 turns it off): until then the deleted one is
// still retrieved and listed, and an upload to its ID keeps its old
// files, as Mapbox was seen to do (tilesets-cli#171).
func (s *Server) SetLateDeletes(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.faults.lateDelete = max(d, 0)
}

// DropMidUpload makes the server reset the connection of the next n
// uploads to ep (a source or changeset upload endpoint; all of them if ep
// is "") once it has read after bytes of the body: the upload takes no
// effect and the client sees a reset while it sends.
func (s *Server) DropMidUpload(ep mapbox.Endpoint, n int, after int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.faults.dropMid = append(s.mts.faults.dropMid, byteCountdown{ep: ep, n: n, after: max(after, 0)})
}

// SetJobOutcome makes the jobs of tileset that start from now on end with
// o (a failure if o.Errors is set; warnings such as "W201 …" otherwise);
// the zero JobOutcome restores plain success. A content outcome takes
// precedence.
func (s *Server) SetJobOutcome(tileset string, o JobOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.advance(s.now())
	if len(o.Errors) == 0 && len(o.Warnings) == 0 {
		delete(s.mts.outcomes, tileset)
		return
	}
	s.mts.outcomes[tileset] = o
}

// SetJobContentOutcome makes the jobs that start from now on and read a
// source (or changeset) whose bytes have this SHA-256 (hex) end with o; the
// zero JobOutcome removes it.
func (s *Server) SetJobContentOutcome(sha256hex string, o JobOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.advance(s.now())
	key := strings.ToLower(sha256hex)
	if len(o.Errors) == 0 && len(o.Warnings) == 0 {
		delete(s.mts.byContent, key)
		return
	}
	s.mts.byContent[key] = o
}

// SetGlobalQueue sets the jobs of other accounts that PUT /queue counts.
func (s *Server) SetGlobalQueue(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.otherQueue = max(n, 0)
}

// SetJobTiming changes how long the jobs published from now on stay
// queued at least, and how long those that start from now on process
// (a duration <= 0 leaves that one as it is).
func (s *Server) SetJobTiming(queue, processing time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.advance(s.now())
	if queue > 0 {
		s.mts.opts.QueueTime = queue
	}
	if processing > 0 {
		s.mts.opts.ProcessingTime = processing
	}
}
