package syncer

import (
	"context"
	"errors"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// PollPace paces the polling of processing uploads: an upload is first
// looked at First after its create, then half as often again each time, up
// to Max apart. One list request answers for up to 100 uploads, so lists are
// at least MinGap apart. While nothing else waits for the API budget, no
// upload goes more than Idle without being looked at, so that a completion
// is noticed within Idle. While files wait for the budget (a credentials
// request or a create waits, or a queued job could start), every list is an
// upload not made: lists are then BusyGap apart, doubling while the budget
// stays busy, up to BusyMax. Zero fields take the defaults.
type PollPace struct {
	First, Max, MinGap, Idle, BusyGap, BusyMax time.Duration
}

// DefaultPollPace is the pace in production.
var DefaultPollPace = PollPace{First: 5 * time.Second, Max: time.Minute, MinGap: 5 * time.Second, Idle: 10 * time.Second,
	BusyGap: time.Minute, BusyMax: 5 * time.Minute}

func (p PollPace) withDefaults() PollPace {
	d := DefaultPollPace
	for _, f := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{&d.First, p.First}, {&d.Max, p.Max}, {&d.MinGap, p.MinGap}, {&d.Idle, p.Idle}, {&d.BusyGap, p.BusyGap}, {&d.BusyMax, p.BusyMax},
	} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	d.BusyMax = max(d.BusyMax, d.BusyGap)
	return d
}

type pollState struct {
	due      time.Time     // when this upload wants looking at
	interval time.Duration // its current interval
	looked   time.Time     // when it was last looked at (or created)
}

// dueAt is when the upload is next looked at: its due time, and while
// the budget is idle no later than Idle after it was last looked at.
func (p *pollState) dueAt(idle bool, pace PollPace) time.Time {
	if idle {
		if cap := p.looked.Add(pace.Idle); cap.Before(p.due) {
			return cap
		}
	}
	return p.due
}

// poll watches every processing upload until it completes or fails.
func (s *Syncer) poll(ctx context.Context) error {
	uploads := map[uint64]*pollState{}
	var lastList time.Time
	var gaps busyGaps
	refused := false // this poller's last list was refused for the token
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		jobs, err := s.store.ListJobs(state.JobFilter{Stages: []state.Stage{state.StageProcessing}})
		if err != nil {
			return err
		}
		now := s.now()
		busy := len(jobs) > 0 && s.budgetBusy()
		idle := !busy && s.alone()
		live := map[uint64]bool{}
		var earliest time.Time
		for _, j := range jobs {
			live[j.ID] = true
			p := uploads[j.ID]
			if p == nil {
				base := j.UploadCreatedAt
				if base.IsZero() || base.After(now) {
					base = now
				}
				// First looked at once most uploads are done (poll_learn.go):
				// the idle cap (dueAt) does not bring that look forward.
				first := s.learned.firstLook(j.Target, s.pace.First, s.pace.Max)
				p = &pollState{due: base.Add(first), interval: s.pace.First, looked: base.Add(max(0, first-s.pace.Idle))}
				uploads[j.ID] = p
			}
			if at := p.dueAt(idle, s.pace); earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
		}
		for id := range uploads {
			if !live[id] {
				delete(uploads, id)
			}
		}
		wait := time.Hour
		if len(jobs) > 0 {
			gap := s.pace.MinGap
			if busy {
				gap = gaps.next(s.busyGap(), s.pace.BusyMax)
			}
			if refused || s.AuthError() != nil {
				gap = authRetry // the token is refused: polls would be refused too
			}
			wait = later(earliest, lastList.Add(gap)).Sub(now)
		}
		if wait <= 0 {
			lastList = s.now()
			gaps.listed(busy)
			err := s.pollOnce(ctx, jobs, uploads, idle)
			refused = errors.Is(err, mapbox.ErrUnauthorized) || errors.Is(err, mapbox.ErrMissingScope)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if refused {
					s.reportAuth(err)
					s.log.Error("Mapbox refused the token: nothing is sent until it works; the queue is kept", "err", err)
					continue
				}
				s.log.Warn("poll", "err", err)
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.pollWake:
		case <-timer.C:
		}
	}
}

// budgetBusy reports whether files wait for the API budget: a request
// that moves a file forward waits at the gate, or a queued job could start
// now (its tileset has nothing in flight). Queued jobs that wait for a
// processing upload of their tileset do not count: a list is what frees
// them.
func (s *Syncer) budgetBusy() bool {
	if s.budget == nil {
		return false
	}
	if s.budget.ForwardWaiting() > 0 {
		return true
	}
	next, err := s.store.NextDue(1, s.dueNow)
	return err == nil && len(next) > 0
}

// busyGaps is the poller's spacing of lists while the budget is busy: the
// first list of a busy spell waits the base gap, each list after it twice
// as long as the one before, up to a cap; a list made while the budget was
// not busy starts afresh.
type busyGaps struct{ cur time.Duration }

// next is the gap before the next list while the budget is busy.
func (g *busyGaps) next(base, most time.Duration) time.Duration {
	if g.cur < base {
		g.cur = base
	}
	return min(g.cur, max(most, base))
}

// listed notes a list made while the budget was busy or not.
func (g *busyGaps) listed(busy bool) {
	if busy {
		g.cur *= 2
	} else {
		g.cur = 0
	}
}

// pollOnce asks the target about the due processing jobs and settles each
// job it learnt of.
func (s *Syncer) pollOnce(ctx context.Context, jobs []state.Job, uploads map[uint64]*pollState, idle bool) error {
	now := s.now()
	sts, err := s.checkAll(ctx, jobs, func(j state.Job) bool { return !uploads[j.ID].dueAt(idle, s.pace).After(now) })
	for _, st := range sts {
		s.settle(st, uploads[st.Job.ID], now)
	}
	return err
}

// settle applies a job's status at Mapbox to the job.
func (s *Syncer) settle(st Status, p *pollState, now time.Time) {
	j := st.Job
	log := s.log.With("job", j, "upload_id", st.UploadID)
	switch {
	case st.Restage:
		s.restage(j, st.Failed)
		s.sharedFailed(j) // shared_ledger.go
		return
	case st.Failed != "":
		s.fail(j, st.Failed)
		s.sharedFailed(j)
		return
	}
	if st.Complete {
		if _, err := s.store.Done(j.ID); err != nil {
			log.Error("mark done", "err", err)
			return
		}
		s.sharedDone(j, st.UploadID)
		if !j.CreateLastSent.IsZero() {
			s.learned.add(j.Target, now.Sub(j.CreateLastSent))
		}
		s.stats.Uploaded.Add(1)
		s.mu.Lock()
		s.lastDone = now
		s.mu.Unlock()
		log.Info("uploaded: Mapbox has processed it", "tileset", j.Tileset)
		s.ended(Ended{Job: j, Uploaded: true, UploadID: st.UploadID})
		// A shapefile's zip in the spool, if it was one, is no longer needed.
		s.source.Done(j)
		signal(s.wake) // the tileset is free for its next job
		return
	}
	if st.Progress != j.Progress {
		if _, err := s.store.Progress(j.ID, st.Progress); err != nil {
			log.Warn("record progress", "err", err)
		}
	}
	p.interval = min(p.interval*3/2, s.pace.Max)
	p.due, p.looked = now.Add(p.interval), now
}

func (s *Syncer) fail(j state.Job, reason string) {
	s.log.Error("failed permanently: not retried until the file changes", "job", j, "reason", reason)
	s.stats.Failed.Add(1)
	s.ended(Ended{Job: j, UploadID: j.UploadID, Reason: reason})
	if _, err := s.store.Fail(j.ID, reason); err != nil {
		s.log.Error("mark failed", "job", j, "err", err)
	}
	signal(s.wake)
}

// restage stages a processing job's bytes again after Mapbox found no
// staged object, and makes it due at once.
func (s *Syncer) restage(j state.Job, msg string) {
	s.log.Warn("Mapbox could not find the staged bytes: staging them again", "job", j, "upload_id", j.UploadID, "message", msg)
	nj, err := s.store.Restage(j.ID, "Mapbox could not find the staged file")
	if err == nil {
		_, err = s.store.RetryLater(nj.ID, msg, s.now())
	}
	if err != nil {
		s.log.Error("restage", "job", j, "err", err)
	}
	signal(s.wake)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
