package syncer

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// dispatcher starts a worker for each runnable job, at most s.workers at
// once. Its state belongs to the dispatch goroutine alone, the token's
// state (auth.go) included: workers tell it of their end over finished.
type dispatcher struct {
	s        *Syncer
	wg       sync.WaitGroup
	running  map[uint64]bool
	finished chan uint64
	// Jobs left in staging or staged with no worker on them continue first,
	// as workers come free: at start, those a previous run left half-way
	// (stopped or killed while staging or creating); then every orphanScan,
	// those of a worker that could not record a retry (the state database
	// refusing writes).
	orphans  []state.Job
	lastScan time.Time // of orphans; zero: scan at once
	pauseGen uint64    // the paused folders' generation at lastScan: a change scans again
}

// dispatch runs the dispatcher until ctx ends, and waits for its workers
// before it returns.
func (s *Syncer) dispatch(ctx context.Context) error {
	d := &dispatcher{s: s, running: map[uint64]bool{}, finished: make(chan uint64, s.workers)}
	defer d.wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select { // a refusal a worker just reported stops what follows
		case err := <-s.authReports:
			s.auth.Store(&err)
		default:
		}
		if err := d.startOrphans(ctx); err != nil {
			return err
		}
		if err := d.startDue(ctx); err != nil {
			return err
		}
		timer.Reset(d.wait())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case id := <-d.finished:
			delete(d.running, id)
		case err := <-s.authReports:
			s.auth.Store(&err)
		case <-timer.C:
			if s.AuthError() != nil {
				s.auth.Store(nil) // try again: the next request probes the token
			}
		}
	}
}

// start runs a worker on j.
func (d *dispatcher) start(ctx context.Context, j state.Job) {
	d.running[j.ID] = true
	d.wg.Go(func() {
		if d.s.sharedSends(j) {
			d.s.workShared(ctx, j) // claims the tileset first (shared.go)
		} else {
			d.s.work(ctx, j)
		}
		d.finished <- j.ID // buffered for every worker: never blocks
	})
}

// startOrphans finds the jobs left in staging or staged with no worker (at
// most every orphanScan, or when a folder's pause changed) and starts them
// while workers are free, but for those of paused folders.
func (d *dispatcher) startOrphans(ctx context.Context) error {
	if gen := d.s.pauseGen(); len(d.orphans) == 0 && (time.Since(d.lastScan) >= orphanScan || gen != d.pauseGen) {
		d.lastScan, d.pauseGen = time.Now(), gen
		all, err := d.s.store.ListJobs(state.JobFilter{Stages: []state.Stage{state.StageStaging, state.StageStaged}})
		if err != nil {
			return err
		}
		for _, j := range all {
			if !d.running[j.ID] {
				d.orphans = append(d.orphans, j)
			}
		}
	}
	for len(d.orphans) > 0 && len(d.running) < d.s.workers {
		j := d.orphans[0]
		d.orphans = d.orphans[1:]
		if d.s.held(j) {
			continue // found again once its folder resumes
		}
		d.s.log.Info("resuming a job interrupted by a stop", "job", j)
		d.start(ctx, j)
	}
	return nil
}

// startDue starts the queue's runnable jobs while workers are free, unless
// orphans wait or the token is refused.
func (d *dispatcher) startDue(ctx context.Context) error {
	if len(d.running) >= d.s.workers || len(d.orphans) > 0 || d.s.AuthError() != nil {
		return nil
	}
	next, err := d.s.store.NextDue(d.s.workers+len(d.running), d.s.dueNow)
	if err != nil {
		return err
	}
	for _, j := range next {
		if len(d.running) >= d.s.workers {
			break
		}
		if d.running[j.ID] {
			continue
		}
		if d.s.sharedSends(j) {
			d.start(ctx, j) // its worker claims the tileset, then begins it
			continue
		}
		if j, ok := d.s.begin(j); ok {
			d.start(ctx, j)
		}
	}
	return nil
}

// wait is how long the dispatcher may sleep when nothing wakes it: until
// the next retry is due, the next orphan scan, or the next probe of a
// refused token.
func (d *dispatcher) wait() time.Duration {
	wait := orphanScan
	if until, ok, err := d.s.untilNextRetry(); err == nil && ok {
		wait = min(wait, max(until, 10*time.Millisecond))
	}
	if d.s.AuthError() != nil {
		wait = min(wait, authRetry)
	}
	if until, ok := d.s.sharedWake(); ok {
		wait = min(wait, max(until, 10*time.Millisecond))
	}
	return wait
}

// begin moves a job the queue handed out into the stage its worker runs.
func (s *Syncer) begin(j state.Job) (state.Job, bool) {
	var err error
	switch j.Stage {
	case state.StageQueued:
		j, err = moved(j)(s.store.StartStaging(j.ID))
	case state.StageRetryWait:
		j, err = moved(j)(s.store.Resume(j.ID))
	}
	if err != nil {
		if !errors.Is(err, state.ErrInvalidTransition) && !errors.Is(err, state.ErrNotFound) {
			s.log.Error("start job", "job", j, "err", err)
		}
		return j, false
	}
	switch j.Stage {
	case state.StageDone: // the tileset holds the content already: not sent
		s.stats.Unchanged.Add(1)
		s.log.Info("skip: the tileset already holds this content", "job", j)
		signal(s.wake)
		return j, false
	case state.StageProcessing:
		signal(s.pollWake) // resumed into processing: the poller's
		return j, false
	}
	return j, true
}

// work moves one job forward until it reaches processing (the poller's),
// fails, or must wait.
func (s *Syncer) work(ctx context.Context, j state.Job) {
	defer func() {
		s.mu.Lock()
		delete(s.staging, j.ID)
		s.mu.Unlock()
	}()
	// Work from the stored job, not the snapshot the dispatcher read: it may
	// have moved on since.
	cur, ok, err := s.store.Job(j.ID)
	if err != nil || !ok {
		return
	}
	j = cur
	for {
		var err error
		switch j.Stage {
		case state.StageStaging:
			j, err = s.targetOf(j).Stage(ctx, j)
		case state.StageStaged:
			if s.replacedUnsent(j) {
				return
			}
			j, err = s.targetOf(j).Create(ctx, j)
		default:
			return
		}
		if err != nil {
			s.handle(ctx, j, err)
			return
		}
	}
}

// replacedUnsent ends a staged job whose create (a publish, for MTS) was
// never sent when newer content for its tileset is queued behind it: the
// file changed while the job waited for the budget or the publish slot, and
// each create is billed (state.SupersedeUnsent).
func (s *Syncer) replacedUnsent(j state.Job) bool {
	if !j.CreateSentAt.IsZero() {
		return false
	}
	nj, ok, err := s.store.SupersedeUnsent(j.ID)
	if err != nil {
		s.log.Error("supersede a job replaced before it was sent", "job", j, "err", err)
		return false
	}
	if ok {
		s.log.Info("superseded: the file changed before this content was sent; sending the newer content instead", "job", nj)
		s.source.Done(nj) // its spool file, if any, is no longer needed
		signal(s.wake)    // the tileset is free for the newer job
	}
	return ok
}

// moved keeps j when a state transition fails: a store method returns the
// zero Job with its error, and the job must still be known by its ID to be
// retried or reported.
func moved(j state.Job) func(state.Job, error) (state.Job, error) {
	return func(nj state.Job, err error) (state.Job, error) {
		if err != nil {
			return j, err
		}
		return nj, nil
	}
}

// errFileChanged: the bytes sent are not the bytes queued.
var errFileChanged = errors.New("the file changed while it was staged")

// orphanScan is how often the dispatcher looks for jobs no worker holds.
const orphanScan = 30 * time.Second

// Retry pacing.
const (
	busyWait  = 5 * time.Second
	authRetry = 5 * time.Minute
)

// Backoff bounds a job's own retries after transient failures: from Min,
// doubling with each attempt, capped at Max, with jitter on the upper half.
type Backoff struct{ Min, Max time.Duration }

// DefaultBackoff is the production pacing.
var DefaultBackoff = Backoff{Min: 2 * time.Second, Max: 10 * time.Minute}

// WithDefaults fills the zero fields from DefaultBackoff.
func (b Backoff) WithDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	return b
}

// delay is the wait before attempt number attempts+1.
func (b Backoff) delay(attempts int) time.Duration {
	d := b.Min << min(attempts, 20)
	if d > b.Max || d <= 0 {
		d = b.Max
	}
	return d/2 + rand.N(d/2+1)
}

// handle decides what an error means for a job: the one place retry policy
// reads the error classes.
func (s *Syncer) handle(ctx context.Context, j state.Job, err error) {
	log := s.log.With("job", j)
	if ctx.Err() != nil {
		return // stopping: the job resumes where it is at the next start
	}
	var wait waitUntil // a target's own wait (mts.go)
	retry := func(at time.Time, level slog.Level, msg string) {
		log.Log(ctx, level, msg, "retry_at", at.Format(time.RFC3339), "attempt", j.Attempts+1, "err", err)
		if _, e := s.store.RetryLater(j.ID, err.Error(), at); e != nil {
			log.Error("schedule retry", "err", e)
			return
		}
		s.scheduleRetry(j.ID, at)
	}
	gone := errors.Is(err, errFileChanged) || errors.Is(err, fs.ErrNotExist) && j.CreateSentAt.IsZero()
	if gone {
		// The file, or a part of a shapefile, changed or went away before
		// its bytes were staged: what it holds now is read again (the
		// watcher may have reported the change already, while the job
		// still held the old content).
		defer s.source.ReadAgain(j.Source)
	}
	switch {
	case gone:
		reason := "the file changed while it was staged; it is sent again once it settles"
		if errors.Is(err, fs.ErrNotExist) {
			reason = "the file (or a part of it) was removed before it was sent"
		}
		// One transaction decides: a file that joins the job meanwhile
		// becomes its source rather than being cancelled with it.
		nj, retargeted, e := s.store.CancelGone(j.ID, reason)
		switch {
		case e != nil:
			log.Error("cancel job", "err", e)
		case retargeted:
			log.Info("the job's file is gone or changed; another file holds the same content", "source", nj.Source.String())
			retry(s.now(), slog.LevelInfo, "the file is gone or changed; staging the same content from another file that holds it")
		default:
			log.Info("cancelled", "reason", reason)
			s.stats.Cancelled.Add(1)
		}
	case errors.As(err, new(createUnsettled)):
		retry(err.(createUnsettled).at, slog.LevelInfo, "waiting before looking for an earlier create whose answer was lost")
	case errors.As(err, &wait):
		retry(wait.at, slog.LevelInfo, wait.why)
	case errors.Is(err, mapbox.ErrUnauthorized), errors.Is(err, mapbox.ErrMissingScope):
		s.reportAuth(err)
		retry(s.now().Add(authRetry), slog.LevelError, "Mapbox refused the token: nothing is sent until it works; the queue is kept")
	case errors.Is(err, mapbox.ErrRateLimited):
		at, ok := mapbox.RetryAt(err)
		if !ok {
			at = s.now().Add(time.Minute)
		}
		retry(at, slog.LevelWarn, "rate limited")
	case errors.Is(err, mapbox.ErrTilesetBusy):
		retry(s.now().Add(busyWait+s.backoff.delay(min(j.Attempts, 3))), slog.LevelInfo, "tileset busy with another upload; waiting")
	case errors.Is(err, mapbox.ErrInvalid), errors.Is(err, mapbox.ErrProcessing), errors.Is(err, mapbox.ErrNotFound):
		log.Error("failed permanently: not retried until the file changes", "err", err)
		s.stats.Failed.Add(1)
		s.ended(Ended{Job: j, UploadID: j.UploadID, Reason: err.Error()})
		if _, e := s.store.Fail(j.ID, err.Error()); e != nil {
			log.Error("mark failed", "err", e)
		}
	default: // transient: network, 5xx, S3, the disk, credentials expiring again and again
		retry(s.now().Add(s.backoff.delay(j.Attempts)), slog.LevelWarn, "transient failure; retrying later")
	}
	signal(s.wake)
}
