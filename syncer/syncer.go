package syncer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/state"
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

// Source is what the sender needs of intake (*intake.Intake), which made
// the jobs it sends.
type Source interface {
	// SendPath returns the bytes to stage for a job: the file, or a
	// shapefile's zip (made again if it is gone).
	SendPath(ctx context.Context, j state.Job) (string, error)
	// ReadAgain has intake read the file at key again, as if the watcher
	// had reported it: the sender found it changed or gone under a job.
	ReadAgain(key state.FileKey)
	// Done lets go of what a finished job's sending needed.
	Done(j state.Job)
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
	// Source is intake, which queued the jobs.
	Source Source
	// MTS is the Mapbox Tiling Service client of MTS jobs (mts.go); nil:
	// API's, when it is one (*mapbox.Client is).
	MTS MTSAPI
	// Budget is the gate the API client was built with; the poller reads it
	// to slow down while other work waits. Nil: the poller keeps its own pace.
	Budget ratelimit.Limiter
	Logger *slog.Logger
	// Workers is how many jobs are staged and created at once (default 2).
	Workers int
	// Backoff paces a job's retries after transient failures; zero: DefaultBackoff.
	Backoff Backoff
	// Poll paces the polling of processing uploads; zero: DefaultPollPace.
	Poll PollPace
	// Once makes a refused token end Run with the error instead of waiting
	// for it to be fixed (sync --once).
	Once bool
	// Clock stamps what the sender records (the same clock as the store's);
	// nil: clock.Real. Deadlines within the process are kept on the
	// monotonic clock (retry.go).
	Clock clock.Clock
	// Ended, if set, is told of each job that ends for good: uploaded
	// (Mapbox processed it) or failed (permanently, with the reason). The
	// daemon's notifications hang on it. It must not block.
	Ended func(Ended)
	// CreateQuiet is how long after a create request whose answer was lost
	// (a timeout, a dropped connection, a 5xx) Mapbox's list is searched for
	// it before creating again: a request held up on the way may still take
	// effect meanwhile. Default DefaultCreateQuiet; the daemon sets twice its
	// HTTP client's wait for an answer.
	CreateQuiet time.Duration
	// Coordinator is the fleet, for the watch folders marked shared
	// (shared.go); nil without a fleet.
	Coordinator Coordinator
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
	source  Source
	clock   clock.Clock
	ended   func(Ended)
	target  Target // what a worker does with a job: the Uploads API's (uploads.go)
	mts     Target // what it does with an MTS job (mts.go); nil without an MTS client
	budget  ratelimit.Limiter
	log     *slog.Logger
	workers int
	once    bool
	pace    PollPace
	backoff Backoff
	quiet   time.Duration // Options.CreateQuiet

	wake     chan struct{} // the job queue changed
	pollWake chan struct{} // an upload was created

	// auth is a refused token's error (auth.go): written by the dispatcher
	// alone, from the reports on authReports.
	auth        atomic.Pointer[error]
	authReports chan error

	pauses pauses // the paused watch folders (pause.go)

	sharing sharing // shared folders in fleet mode (shared.go)

	mu       sync.Mutex
	staging  map[uint64]Transfer  // staging progress of running jobs
	retryAt  map[uint64]time.Time // retry-wait jobs' deadlines, monotonic (retry.go)
	learned  processingTimes      // how long processing takes; the poller's own (poll_learn.go)
	lastDone time.Time

	stats Stats
}

// Transfer is the staging progress of one job.
type Transfer struct {
	Sent, Total int64
}

// Stats count what the sender did since it started (intake counts the
// files it took and queued).
type Stats struct {
	Uploaded, Failed atomic.Int64
	// Unchanged counts jobs ended at staging because the tileset already
	// held their content; Cancelled, jobs whose file went before staging.
	Unchanged, Cancelled atomic.Int64
	BytesStaged          atomic.Int64
	// MTS counts the Tiling Service's publish jobs that ended.
	MTS PublishStats
}

// New checks opts and returns a Syncer.
func New(opts Options) (*Syncer, error) {
	if opts.Config == nil || opts.Store == nil || opts.API == nil || opts.Stager == nil || opts.Source == nil {
		return nil, errors.New("syncer: Config, Store, API, Stager and Source are required")
	}
	s := &Syncer{
		cfg: opts.Config, store: opts.Store, api: opts.API, stager: opts.Stager, source: opts.Source, budget: opts.Budget,
		log: opts.Logger, workers: opts.Workers, once: opts.Once, pace: opts.Poll.withDefaults(), backoff: opts.Backoff.WithDefaults(),
		wake: make(chan struct{}, 1), pollWake: make(chan struct{}, 1), authReports: make(chan error, 1),
		staging: map[uint64]Transfer{}, retryAt: map[uint64]time.Time{},
	}
	s.target = uploads{s}
	s.sharing.init(opts.Coordinator, opts.Config)
	s.mts = newMTS(s, opts)
	s.clock = clock.Or(opts.Clock)
	s.ended = opts.Ended
	if s.ended == nil {
		s.ended = func(Ended) {}
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

// LastDone is when an upload last completed (zero if none since start).
func (s *Syncer) LastDone() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastDone
}

// now is the time on the sender's clock.
func (s *Syncer) now() time.Time { return s.clock.Now() }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run works the queue until ctx is cancelled, then stops taking new work
// and returns once every goroutine has ended (staging in progress is
// interrupted; it resumes at the next start). It returns nil on
// cancellation. Intake queues the work and calls Wake.
func (s *Syncer) Run(ctx context.Context) error {
	if err := s.loadRetries(); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.dispatch(ctx) })
	g.Go(func() error { return s.poll(ctx) })
	if len(s.sharing.folders) > 0 {
		g.Go(func() error { return s.reseedLoop(ctx) }) // seed.go
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Wake tells the sender the queue changed.
func (s *Syncer) Wake() { signal(s.wake) }

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
