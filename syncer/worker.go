package syncer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/state"
)

// dispatch starts a worker for each runnable job, at most s.workers at once,
// and waits for them all before it returns (when ctx ends).
func (s *Syncer) dispatch(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[uint64]bool{}
	var mu sync.Mutex
	done := make(chan struct{}, 1)
	start := func(j state.Job) {
		mu.Lock()
		running[j.ID] = true
		mu.Unlock()
		wg.Go(func() {
			s.work(ctx, j)
			mu.Lock()
			delete(running, j.ID)
			mu.Unlock()
			signal(done)
		})
	}
	busy := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(running)
	}
	isRunning := func(id uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		return running[id]
	}

	// Jobs left in staging or staged with no worker on them continue first,
	// as workers come free: at start, those a previous run left half-way
	// (stopped or killed while staging or creating); then every so often,
	// those of a worker that could not record a retry (the state database
	// refusing writes).
	var orphans []state.Job
	var lastOrphanScan time.Time // zero: scan at once
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if len(orphans) == 0 && time.Since(lastOrphanScan) >= orphanScan {
			lastOrphanScan = time.Now()
			all, err := s.store.ListJobs(state.JobFilter{Stages: []state.Stage{state.StageStaging, state.StageStaged}})
			if err != nil {
				return err
			}
			for _, j := range all {
				if !isRunning(j.ID) {
					orphans = append(orphans, j)
				}
			}
		}
		for len(orphans) > 0 && busy() < s.workers {
			s.log.Info("resuming a job interrupted by a stop", "job", orphans[0])
			start(orphans[0])
			orphans = orphans[1:]
		}
		if free := s.workers - busy(); free > 0 && len(orphans) == 0 && s.AuthError() == nil {
			next, err := s.store.NextDue(s.workers+busy(), s.due)
			if err != nil {
				return err
			}
			for _, j := range next {
				if busy() >= s.workers {
					break
				}
				if isRunning(j.ID) {
					continue
				}
				if j, ok := s.begin(j); ok {
					start(j)
				}
			}
		}
		wait := orphanScan
		if d, ok, err := s.untilNextRetry(); err == nil && ok {
			wait = min(wait, max(d, 10*time.Millisecond))
		}
		if s.AuthError() != nil {
			wait = min(wait, authRetry)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-done:
		case <-timer.C:
			if s.AuthError() != nil {
				s.clearAuth() // try again: the next request probes the token
			}
		}
	}
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
	expired := 0
	for {
		var err error
		switch j.Stage {
		case state.StageStaging:
			j, err = s.stage(ctx, j)
			if errors.Is(err, mapbox.ErrCredentialsExpired) && expired < 3 && ctx.Err() == nil {
				expired++
				s.log.Info("staging credentials expired: fetching new ones and staging again", "job", j)
				j, err = s.credentialsFor(ctx, j) // a new key: staging starts over
			}
		case state.StageStaged:
			j, err = s.create(ctx, j)
		default:
			return
		}
		if err != nil {
			s.handle(ctx, j, err)
			return
		}
	}
}

func (s *Syncer) credentialsFor(ctx context.Context, j state.Job) (state.Job, error) {
	c, err := s.api.Credentials(ctx)
	if err != nil {
		return j, err
	}
	return moved(j)(s.store.SetCredentials(j.ID, state.Credentials{Bucket: c.Bucket, Key: c.Key, URL: c.URL,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, FetchedAt: time.Now()}))
}

// stage sends the job's bytes to S3, resuming a multipart upload when the
// job has one, and checks that what was sent is what was queued.
func (s *Syncer) stage(ctx context.Context, j state.Job) (state.Job, error) {
	var err error
	if j.Credentials == nil {
		if j, err = s.credentialsFor(ctx, j); err != nil {
			return j, err
		}
	}
	src, err := s.source.SendPath(ctx, j)
	if err != nil {
		return j, err
	}
	c := j.Credentials
	creds := mapbox.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Bucket: c.Bucket, Key: c.Key, URL: c.URL}
	var resume *staging.Multipart
	if m := j.Multipart; m != nil {
		resume = &staging.Multipart{Bucket: c.Bucket, Key: c.Key, UploadID: m.UploadID, PartSize: m.PartSize, Size: j.Size, Checksum: m.Checksum}
		for _, p := range m.Parts {
			resume.Parts = append(resume.Parts, staging.Part{Number: p.Number, ETag: p.ETag, Size: p.Size})
		}
	}
	id := j.ID
	lastLog := time.Now()
	var hookErr error
	var hookMu sync.Mutex
	keep := func(err error) {
		if err != nil {
			hookMu.Lock()
			hookErr = errors.Join(hookErr, err)
			hookMu.Unlock()
		}
	}
	hooks := staging.Hooks{
		OnMultipartStarted: func(m staging.Multipart) {
			_, err := s.store.MultipartStarted(id, state.Multipart{UploadID: m.UploadID, PartSize: m.PartSize, Checksum: m.Checksum})
			keep(err)
		},
		OnPart: func(p staging.Part) {
			_, err := s.store.PartDone(id, state.Part{Number: p.Number, ETag: p.ETag, Size: p.Size})
			keep(err)
		},
		OnProgress: func(sent, total int64) {
			s.mu.Lock()
			s.staging[id] = Transfer{Sent: sent, Total: total}
			s.mu.Unlock()
			if total >= progressLogMin && time.Since(lastLog) >= progressLogEvery && sent < total {
				lastLog = time.Now()
				s.log.Info("staging progress", "job", j, "percent", sent*100/total, "sent_bytes", sent, "total_bytes", total)
			}
		},
	}
	s.log.Info("staging", "job", j, "bytes", j.Size)
	res, err := s.stager.Stage(ctx, creds, src, resume, hooks)
	if err == nil {
		err = hookErr
	}
	if err != nil {
		return j, err
	}
	s.stats.BytesStaged.Add(int64(res.PartsSent) * res.PartSize)
	if !res.Multipart {
		s.stats.BytesStaged.Add(res.Size)
	}
	if res.SHA256 != j.SHA256 {
		return j, fmt.Errorf("%w: queued %.12s, sent %.12s", errFileChanged, j.SHA256, res.SHA256)
	}
	s.log.Info("staged", "job", j, "mode", res.Mode())
	return moved(j)(s.store.MarkStaged(j.ID, res.SHA256))
}

// A staging of at least progressLogMin bytes logs its progress every
// progressLogEvery, so a long upload shows it is alive.
const (
	progressLogMin   = 64 << 20
	progressLogEvery = 30 * time.Second
)

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

// create creates the upload, unless a create sent earlier (before a crash,
// or whose answer was lost) already did.
func (s *Syncer) create(ctx context.Context, j state.Job) (state.Job, error) {
	if !j.CreateSentAt.IsZero() {
		// A request held up on the way may still create the upload: look
		// for it only once that can no longer happen.
		if wait := min(time.Until(j.CreateLastSent.Add(s.quiet)), s.quiet); wait > 0 {
			return j, createUnsettled{at: time.Now().Add(wait)}
		}
		up, found, err := s.findUpload(ctx, j)
		if err != nil {
			return j, err
		}
		if found {
			s.log.Info("found the upload an earlier create made (its answer was lost, or tilesyncd stopped): not creating it again",
				"job", j, "upload_id", up.ID)
			return s.created(ctx, j, up)
		}
	}
	if age := time.Since(j.StagedAt); s.cfg.Mapbox.StagedMaxAge > 0 && !j.StagedAt.IsZero() && age > s.cfg.Mapbox.StagedMaxAge {
		s.log.Info("the staged bytes are older than staged_max_age, and the staging bucket may have dropped them: staging again",
			"job", j, "staged_at", j.StagedAt.Format(time.RFC3339))
		return moved(j)(s.store.Restage(j.ID, "staged "+age.Round(time.Minute).String()+" ago"))
	}
	fresh := j.CreateSentAt.IsZero()
	now := time.Now()
	var server time.Time
	if off, ok := s.api.ClockOffset(); ok {
		server = now.Add(off)
	}
	j, err := moved(j)(s.store.CreateSent(j.ID, now, server))
	if err != nil {
		return j, err
	}
	up, err := s.api.Create(ctx, mapbox.CreateRequest{Tileset: j.Tileset, URL: j.Credentials.URL, Name: j.Name})
	if err != nil {
		if fresh && provesNotCreated(err) {
			// This attempt recorded the intent and created nothing: forget
			// it, so that no later recovery looks for (and takes) another
			// upload of the tileset as this one.
			j, _ = moved(j)(s.store.ClearCreateSent(j.ID))
		}
		return j, err
	}
	return s.created(ctx, j, up)
}

// createUnsettled: an earlier create of the job may still take effect; the
// job waits until at before looking for it.
type createUnsettled struct{ at time.Time }

func (e createUnsettled) Error() string {
	return "an earlier create request may still take effect; looking for it at " + e.at.Format(time.RFC3339)
}

// provesNotCreated reports whether a failed create certainly created
// nothing: the request never left this machine (the rate budget held it,
// or no connection was made), or Mapbox answered it with a 4xx (a 429, a
// busy tileset, a refused token, an invalid request). A 5xx, a timeout or a
// lost answer proves nothing: the upload may exist.
func provesNotCreated(err error) bool {
	if mapbox.NotSent(err) {
		return true
	}
	var ae *mapbox.APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusRequestTimeout
}

func (s *Syncer) created(ctx context.Context, j state.Job, up mapbox.Upload) (state.Job, error) {
	// Mapbox has the upload: its ID must be recorded, or a restart would have
	// to find it again in a list that may no longer reach back to it. A state
	// database refusing the write (a full disk) is waited out.
	delay := s.backoff.Min
	for {
		nj, err := s.store.Created(j.ID, up.ID, up.Created)
		if err == nil {
			s.log.Info("created: Mapbox is processing", "job", nj, "upload_id", up.ID)
			signal(s.pollWake)
			return nj, nil
		}
		if errors.Is(err, state.ErrInvalidTransition) || errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrClosed) {
			return j, err
		}
		s.log.Error("Mapbox created the upload but the state database refused to record it; trying again",
			"job", j, "upload_id", up.ID, "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, s.backoff.Max)
	}
}

// findUpload looks in Mapbox's list for the upload an earlier create of
// the job made. A candidate is an upload of the job's tileset created,
// on Mapbox's clock, since that create was sent (less a margin), and not
// already accounted for in the state (the tileset's last upload, its
// history, its other jobs): the upload of the content the tileset held
// before is never taken for this one. The newest candidate wins. The list
// is read page by page, newest first, until it reaches uploads older than
// the window (at most maxRecoveryPages pages).
func (s *Syncer) findUpload(ctx context.Context, j state.Job) (mapbox.Upload, bool, error) {
	opts := mapbox.ListOptions{Limit: mapbox.MaxListLimit}
	var since time.Time
	for page := 0; page < maxRecoveryPages; page++ {
		list, next, err := s.api.ListPage(ctx, opts)
		if err != nil {
			return mapbox.Upload{}, false, err
		}
		if page == 0 {
			since = s.recoverySince(j) // after an answer: Mapbox's clock is known
		}
		for _, u := range list { // newest first
			if u.Created.Before(since) {
				return mapbox.Upload{}, false, nil
			}
			if u.Tileset != j.Tileset {
				continue
			}
			known, err := s.store.KnownUpload(j.Tileset, u.ID)
			if err != nil {
				return mapbox.Upload{}, false, err
			}
			if !known {
				return u, true, nil
			}
		}
		if next == "" {
			return mapbox.Upload{}, false, nil
		}
		opts.Start = next
	}
	s.log.Warn("cannot confirm whether an earlier create was received: Mapbox's list is too long to read back to it; creating again",
		"job", j, "create_sent_at", j.CreateSentAt)
	return mapbox.Upload{}, false, nil
}

// recoverySince is when, on Mapbox's clock, an upload made by the job's
// first create could have been created at the earliest.
func (s *Syncer) recoverySince(j state.Job) time.Time {
	if !j.CreateSentServer.IsZero() {
		return j.CreateSentServer.Add(-serverClockMargin)
	}
	if off, ok := s.api.ClockOffset(); ok {
		// This machine's clock may have been stepped since the create.
		return j.CreateSentAt.Add(off).Add(-clockSkew)
	}
	return j.CreateSentAt.Add(-clockSkew)
}

// Margins of the recovery window: serverClockMargin where the create's time
// on Mapbox's clock was recorded (its Date header has whole seconds, and
// the request took some time), clockSkew where only this machine's clock
// was.
const (
	serverClockMargin = 10 * time.Second
	clockSkew         = 5 * time.Minute
)

// maxRecoveryPages bounds the list pages read to recover one create (100
// uploads a page).
const maxRecoveryPages = 20

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
	case gone && s.retarget(j):
		retry(time.Now(), slog.LevelInfo, "the file is gone or changed; staging the same content from another file that holds it")
	case gone:
		reason := "the file changed while it was staged; it is sent again once it settles"
		if errors.Is(err, fs.ErrNotExist) {
			reason = "the file (or a part of it) was removed before it was sent"
		}
		log.Info("cancelled", "reason", reason)
		s.stats.Cancelled.Add(1)
		if _, e := s.store.Cancel(j.ID, reason); e != nil {
			log.Error("cancel job", "err", e)
		}
	case errors.As(err, new(createUnsettled)):
		retry(err.(createUnsettled).at, slog.LevelInfo, "waiting before looking for an earlier create whose answer was lost")
	case errors.Is(err, mapbox.ErrUnauthorized), errors.Is(err, mapbox.ErrMissingScope):
		s.setAuth(err)
		retry(time.Now().Add(authRetry), slog.LevelError, "Mapbox refused the token: nothing is sent until it works; the queue is kept")
	case errors.Is(err, mapbox.ErrRateLimited):
		at, ok := mapbox.RetryAt(err)
		if !ok {
			at = time.Now().Add(time.Minute)
		}
		retry(at, slog.LevelWarn, "rate limited")
	case errors.Is(err, mapbox.ErrTilesetBusy):
		retry(time.Now().Add(busyWait+s.backoff.delay(min(j.Attempts, 3))), slog.LevelInfo, "tileset busy with another upload; waiting")
	case errors.Is(err, mapbox.ErrInvalid), errors.Is(err, mapbox.ErrProcessing), errors.Is(err, mapbox.ErrNotFound):
		log.Error("failed permanently: not retried until the file changes", "err", err)
		s.stats.Failed.Add(1)
		if _, e := s.store.Fail(j.ID, err.Error()); e != nil {
			log.Error("mark failed", "err", e)
		}
	default: // transient: network, 5xx, S3, the disk, credentials expiring again and again
		retry(time.Now().Add(s.backoff.delay(j.Attempts)), slog.LevelWarn, "transient failure; retrying later")
	}
	signal(s.wake)
}

// retarget makes a joined file that still holds the job's content its
// source (a file moved, or a copy), and reports whether there was one.
func (s *Syncer) retarget(j state.Job) bool {
	nj, err := s.store.Retarget(j.ID)
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) {
			s.log.Error("retarget job", "job", j, "err", err)
		}
		return false
	}
	s.log.Info("the job's file is gone or changed; another file holds the same content", "job", j, "source", nj.Source.String())
	return true
}

func (s *Syncer) setAuth(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authErr = err
}

func (s *Syncer) clearAuth() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authErr = nil
}
