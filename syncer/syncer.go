package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// API is what the syncer needs of the Mapbox Uploads API (*mapbox.Client).
type API interface {
	Credentials(ctx context.Context) (mapbox.Credentials, error)
	Create(ctx context.Context, req mapbox.CreateRequest) (mapbox.Upload, error)
	Upload(ctx context.Context, id string) (mapbox.Upload, error)
	List(ctx context.Context, opts mapbox.ListOptions) ([]mapbox.Upload, error)
	// ListPage reads one page of the list and the cursor of the next ("" on the last).
	ListPage(ctx context.Context, opts mapbox.ListOptions) ([]mapbox.Upload, string, error)
	// ClockOffset is Mapbox's clock less this machine's, from its answers' Date headers.
	ClockOffset() (time.Duration, bool)
}

// Stager is what the syncer needs of S3 staging (*staging.Stager).
type Stager interface {
	Stage(ctx context.Context, creds mapbox.Credentials, path string, resume *staging.Multipart, hooks staging.Hooks) (staging.Result, error)
}

var (
	_ API    = (*mapbox.Client)(nil)
	_ Stager = (*staging.Stager)(nil)
)

// Options configure a Syncer.
type Options struct {
	Config *config.Config
	Store  *state.Store
	API    API
	Stager Stager
	// Budget is the gate the API client was built with; the poller reads it
	// to slow down while other work waits. Nil: the poller keeps its own pace.
	Budget ratelimit.Limiter
	Logger *slog.Logger
	// Workers is how many jobs are staged and created at once (default 2).
	Workers int
	// SpoolDir holds the zips made of shapefiles; default "spool" beside the
	// state database.
	SpoolDir string
	// Backoff paces a job's retries after transient failures; zero: DefaultBackoff.
	Backoff Backoff
	// Poll paces the polling of processing uploads; zero: DefaultPollPace.
	Poll PollPace
	// Once makes a refused token end Run with the error instead of waiting
	// for it to be fixed (sync --once).
	Once bool
	// CreateQuiet is how long after a create request whose answer was lost
	// (a timeout, a dropped connection, a 5xx) Mapbox's list is searched for
	// it before creating again: a request held up on the way may still take
	// effect meanwhile. Default DefaultCreateQuiet; the daemon sets twice its
	// HTTP client's wait for an answer.
	CreateQuiet time.Duration
}

// DefaultCreateQuiet is CreateQuiet for the production HTTP client, which
// waits 30 s for an answer.
const DefaultCreateQuiet = time.Minute

// Syncer runs the pipeline. Create it with New; run it with Run.
type Syncer struct {
	cfg     *config.Config
	store   *state.Store
	api     API
	stager  Stager
	budget  ratelimit.Limiter
	log     *slog.Logger
	workers int
	spool   string
	once    bool
	pace    PollPace
	backoff Backoff
	quiet   time.Duration // Options.CreateQuiet

	wake     chan struct{} // the job queue changed
	pollWake chan struct{} // an upload was created
	again    chan struct{} // readAgain added to rereads

	mu       sync.Mutex
	staging  map[uint64]Transfer  // staging progress of running jobs
	retryAt  map[uint64]time.Time // retry-wait jobs' deadlines, monotonic (retry.go)
	rereads  []state.FileKey      // files for intake to read again (readAgain)
	authErr  error                // a token refused: nothing is sent until it works again
	lastDone time.Time

	stats Stats
}

// Transfer is the staging progress of one job.
type Transfer struct {
	Sent, Total int64
}

// Stats count what the syncer did since it started.
type Stats struct {
	Uploaded, Unchanged, Refused, Failed, Cancelled, Queued atomic.Int64
	BytesStaged                                             atomic.Int64
	// Seen counts the file reports taken: each file of a startup scan or
	// a sync, and each change since (skipped, refused or queued alike).
	Seen atomic.Int64
}

// New checks opts and returns a Syncer.
func New(opts Options) (*Syncer, error) {
	if opts.Config == nil || opts.Store == nil || opts.API == nil || opts.Stager == nil {
		return nil, errors.New("syncer: Config, Store, API and Stager are required")
	}
	s := &Syncer{
		cfg: opts.Config, store: opts.Store, api: opts.API, stager: opts.Stager, budget: opts.Budget,
		log: opts.Logger, workers: opts.Workers, spool: opts.SpoolDir, once: opts.Once, pace: opts.Poll.withDefaults(), backoff: opts.Backoff.withDefaults(),
		wake: make(chan struct{}, 1), pollWake: make(chan struct{}, 1), again: make(chan struct{}, 1),
		staging: map[uint64]Transfer{}, retryAt: map[uint64]time.Time{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.workers <= 0 {
		s.workers = 2
	}
	if s.quiet = opts.CreateQuiet; s.quiet <= 0 {
		s.quiet = DefaultCreateQuiet
	}
	if s.spool == "" {
		s.spool = filepath.Join(filepath.Dir(s.store.Path()), "spool")
	}
	if err := os.MkdirAll(s.spool, 0o700); err != nil {
		return nil, fmt.Errorf("syncer: spool folder: %w", err)
	}
	return s, nil
}

// Stats returns the syncer's counters.
func (s *Syncer) Stats() *Stats { return &s.stats }

// Transfers returns the staging progress of the jobs being staged now.
func (s *Syncer) Transfers() map[uint64]Transfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint64]Transfer, len(s.staging))
	for id, t := range s.staging {
		out[id] = t
	}
	return out
}

// AuthError returns the error of a refused token while nothing is being sent
// because of it, else nil.
func (s *Syncer) AuthError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authErr
}

// LastDone is when an upload last completed (zero if none since start).
func (s *Syncer) LastDone() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastDone
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run ingests the watcher's events and works the queue until ctx is
// cancelled, then stops taking new work and returns once every goroutine has
// ended (staging in progress is interrupted; it resumes at the next start).
// It returns nil on cancellation.
func (s *Syncer) Run(ctx context.Context, events <-chan watcher.Event) error {
	s.cleanSpool()
	if err := s.loadRetries(); err != nil {
		return err
	}
	if n, err := s.store.RepairPending(); err != nil {
		return err
	} else if n > 0 {
		s.log.Warn("file records said queued with no job (left by an older tilesyncd); they are read again", "files", n)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.intake(ctx, events) })
	g.Go(func() error { return s.dispatch(ctx) })
	g.Go(func() error { return s.poll(ctx) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// intake ingests the watcher's events. An event that fails, on a file that
// cannot be read or on the state database (a full or failing disk), is kept
// and tried again with a growing delay (the backoff's, up to its maximum),
// never dropped: the watcher does not report an unchanged file twice.
func (s *Syncer) intake(ctx context.Context, events <-chan watcher.Event) error {
	failed := map[string]watcher.Event{} // by path: the latest event wins
	// The paths each watch folder's startup scan reported, until it is done.
	scanned, scanDone := map[string]map[string]bool{}, map[string]bool{}
	delay := time.Duration(0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ingest := func(ev watcher.Event, retry bool) {
		key := filepath.Join(ev.Root, ev.Rel)
		err := s.Ingest(ctx, ev)
		if err == nil {
			delete(failed, key)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if len(failed) == 0 {
			delay = s.backoff.Min
			timer.Reset(delay)
		}
		_, waiting := failed[key]
		again := retry || waiting
		failed[key] = ev
		switch {
		case !errors.Is(err, errUnreadable):
			s.log.Error("cannot record the file in the state database; trying again later", "path", key, "err", err)
		case !again:
			s.log.Warn("cannot read the file; trying again later", "path", key, "err", err)
		default:
			s.log.Debug("still cannot read the file", "path", key, "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				events = nil // the watchers stopped; keep retrying what failed
				continue
			}
			if ev.Kind == watcher.InitialScanDone {
				// Files the state knows in this folder that the startup scan
				// did not report went away while tilesyncd was stopped.
				for _, gone := range s.unseen(ev.Root, scanned[ev.Root]) {
					ingest(gone, false)
				}
				scanned[ev.Root], scanDone[ev.Root] = nil, true
				continue
			}
			if !scanDone[ev.Root] {
				if scanned[ev.Root] == nil {
					scanned[ev.Root] = map[string]bool{}
				}
				scanned[ev.Root][ev.Rel] = true
			}
			ingest(ev, false)
		case <-s.again:
			s.mu.Lock()
			keys := s.rereads
			s.rereads = nil
			s.mu.Unlock()
			for _, k := range keys {
				if w := s.watchOf(k.Watch); w != nil {
					ingest(watcher.Event{Root: w.Path, Rel: k.Path, Kind: watcher.Ready}, false)
				}
			}
		case <-timer.C:
			again := failed
			failed = map[string]watcher.Event{}
			for _, ev := range again {
				ingest(ev, true)
			}
			if len(failed) > 0 {
				delay = min(2*delay, s.backoff.Max)
				timer.Reset(delay)
				s.log.Warn("files waiting to be taken again (unreadable, or the state database failing)", "files", len(failed), "retry_in", delay)
			}
		}
	}
}

// cleanSpool removes shapefile zips no job needs any more (those of jobs that
// failed, were cancelled or superseded) and half-written ones.
func (s *Syncer) cleanSpool() {
	entries, err := os.ReadDir(s.spool)
	if err != nil {
		return
	}
	needed := map[string]bool{}
	_ = s.store.Jobs(state.JobFilter{}, func(j state.Job) error {
		needed[j.SHA256+".zip"] = true
		return nil
	})
	for _, e := range entries {
		if !needed[e.Name()] {
			os.Remove(filepath.Join(s.spool, e.Name()))
		}
	}
}

// Idle reports whether no job is queued or in flight (failed jobs aside).
func (s *Syncer) Idle() (bool, error) {
	counts, err := s.store.Counts()
	if err != nil {
		return false, err
	}
	for st, n := range counts {
		if st != state.StageFailed && n > 0 {
			return false, nil
		}
	}
	return true, nil
}

// unseen returns a Removed event for every file the state has a record of
// in the watch folder at root that is not in seen (the paths its startup
// scan reported): a file deleted or moved away while tilesyncd was stopped.
// Its jobs not under way are then dropped, and a conflict is settled again,
// as for a file removed while tilesyncd runs.
func (s *Syncer) unseen(root string, seen map[string]bool) []watcher.Event {
	w := s.watchOf(root)
	if w == nil {
		return nil
	}
	var gone []watcher.Event
	err := s.store.Files(w.Path, func(rec state.FileRecord) error {
		if !seen[rec.Key.Path] {
			gone = append(gone, watcher.Event{Kind: watcher.Removed, Root: root, Rel: rec.Key.Path})
		}
		return nil
	})
	if err != nil {
		s.log.Error("cannot read the state's records of the folder; files removed while stopped are forgotten at the next start", "watch", root, "err", err)
		return nil
	}
	if len(gone) > 0 {
		s.log.Info("files removed while tilesyncd was stopped", "watch", root, "files", len(gone))
	}
	return gone
}

// readAgain has intake read the file at key again, as if the watcher had
// reported it: a worker that found the file changed or gone under a job
// cannot count on another report (the watcher may have reported the change
// already, while the job still held the old content).
func (s *Syncer) readAgain(key state.FileKey) {
	s.mu.Lock()
	s.rereads = append(s.rereads, key)
	s.mu.Unlock()
	signal(s.again)
}
