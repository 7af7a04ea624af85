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
// at least MinGap apart, and BusyGap apart while other work waits for the
// API budget (polls then take little of it). Zero fields take the defaults.
type PollPace struct {
	First, Max, MinGap, BusyGap time.Duration
}

// DefaultPollPace is the pace in production.
var DefaultPollPace = PollPace{First: 5 * time.Second, Max: time.Minute, MinGap: 5 * time.Second, BusyGap: 30 * time.Second}

func (p PollPace) withDefaults() PollPace {
	d := DefaultPollPace
	if p.First > 0 {
		d.First = p.First
	}
	if p.Max > 0 {
		d.Max = p.Max
	}
	if p.MinGap > 0 {
		d.MinGap = p.MinGap
	}
	if p.BusyGap > 0 {
		d.BusyGap = p.BusyGap
	}
	return d
}

type pollState struct {
	due      time.Time     // when this upload wants looking at
	interval time.Duration // its current interval
}

// poll watches every processing upload until it completes or fails.
func (s *Syncer) poll(ctx context.Context) error {
	uploads := map[uint64]*pollState{}
	var lastList time.Time
	refused := false // this poller's last list was refused for the token
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		jobs, err := s.store.ListJobs(state.JobFilter{Stages: []state.Stage{state.StageProcessing}})
		if err != nil {
			return err
		}
		now := s.now()
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
				p = &pollState{due: base.Add(s.pace.First), interval: s.pace.First}
				uploads[j.ID] = p
			}
			if earliest.IsZero() || p.due.Before(earliest) {
				earliest = p.due
			}
		}
		for id := range uploads {
			if !live[id] {
				delete(uploads, id)
			}
		}
		wait := time.Hour
		if len(jobs) > 0 {
			gap := s.listGap()
			if refused || s.AuthError() != nil {
				gap = authRetry // the token is refused: polls would be refused too
			}
			wait = later(earliest, lastList.Add(gap)).Sub(now)
		}
		if wait <= 0 {
			lastList = s.now()
			err := s.pollOnce(ctx, jobs, uploads)
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

// listGap is the least time between two list requests now.
func (s *Syncer) listGap() time.Duration {
	if s.budget != nil && s.budget.ForwardWaiting() > 0 {
		return s.busyGap() // pace_fleet.go
	}
	if counts, err := s.store.Counts(); err == nil && counts[state.StageQueued] > 0 && s.budget != nil {
		return s.busyGap()
	}
	return s.pace.MinGap
}

// pollOnce asks the target about the processing jobs and settles each job
// it learnt of.
func (s *Syncer) pollOnce(ctx context.Context, jobs []state.Job, uploads map[uint64]*pollState) error {
	now := s.now()
	sts, err := s.checkAll(ctx, jobs, func(j state.Job) bool { return !uploads[j.ID].due.After(now) })
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
	p.due = now.Add(p.interval)
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
