package intake

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/state"
)

// Options configure an Intake.
type Options struct {
	Config *config.Config
	Store  *state.Store
	Logger *slog.Logger
	// SpoolDir holds the zips made of shapefiles; default "spool" beside the
	// state database.
	SpoolDir string
	// RetryMin and RetryMax bound the growing delay before an event that
	// failed (an unreadable file, a failing state database) is taken again;
	// defaults 1 s and 5 min.
	RetryMin, RetryMax time.Duration
	// Queued is called after a job is queued (the sender's wake-up); nil: nothing.
	Queued func()
	// Refused, if set, is told of each file refused (not sent to Mapbox),
	// once per content: the daemon's notifications. It must not block.
	Refused func(key state.FileKey, tileset, reason string)
}

// Intake turns watcher events into decisions, file records and queued jobs.
// Create it with New; Run takes the watcher's events.
type Intake struct {
	cfg      *config.Config
	store    *state.Store
	log      *slog.Logger
	spool    string
	retryMin time.Duration
	retryMax time.Duration
	queued   func()
	refused  func(key state.FileKey, tileset, reason string)
	watches  map[string]*config.Watch // by path
	hasMTS   bool                     // some rule targets MTS (mts.go)

	again   chan struct{} // ReadAgain added to rereads
	mu      sync.Mutex
	rereads []state.FileKey // files to read again (ReadAgain)

	// Run's work that no job shows yet (Busy): it is taking an event, a
	// file to read again or a retry (or starting), and the events it
	// failed on, kept for a retry.
	working atomic.Bool
	failed  atomic.Int64

	stats Stats
}

// Stats count what intake did since it started.
type Stats struct {
	// Seen counts the file reports taken: each file of a startup scan or
	// a sync, and each change since (skipped, refused or queued alike).
	Seen                                  atomic.Int64
	Queued, Unchanged, Refused, Cancelled atomic.Int64
}

// New checks opts and returns an Intake, making its spool folder.
func New(opts Options) (*Intake, error) {
	if opts.Config == nil || opts.Store == nil {
		return nil, errors.New("intake: Config and Store are required")
	}
	in := &Intake{cfg: opts.Config, store: opts.Store, log: opts.Logger, spool: opts.SpoolDir,
		retryMin: opts.RetryMin, retryMax: opts.RetryMax, queued: opts.Queued,
		watches: opts.Config.WatchByPath(), hasMTS: opts.Config.HasMTS(), again: make(chan struct{}, 1)}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	if in.spool == "" {
		in.spool = filepath.Join(filepath.Dir(in.store.Path()), "spool")
	}
	if in.retryMin <= 0 {
		in.retryMin = time.Second
	}
	if in.retryMax <= 0 {
		in.retryMax = 5 * time.Minute
	}
	if in.queued == nil {
		in.queued = func() {}
	}
	if in.refused = opts.Refused; in.refused == nil {
		in.refused = func(state.FileKey, string, string) {}
	}
	if err := os.MkdirAll(in.spool, 0o700); err != nil {
		return nil, fmt.Errorf("intake: spool folder: %w", err)
	}
	return in, nil
}

// Stats returns intake's counters.
func (in *Intake) Stats() *Stats { return &in.stats }

// Spool is the folder of shapefile zips.
func (in *Intake) Spool() string { return in.spool }

func (in *Intake) watchOf(root string) *config.Watch { return in.watches[root] }

// Busy reports whether Run has work in hand that no job shows yet: it is
// starting, taking a reported file, a file to read again or a retry, or
// has files to read again or failed events waiting for their retry. A
// daemon whose watchers have nothing settling or waiting, whose intake is
// not busy and whose sender is idle has done all it knows of; a state
// database slow to write (a disk that stalls) keeps intake busy.
func (in *Intake) Busy() bool {
	if in.working.Load() || in.failed.Load() > 0 {
		return true
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.rereads) > 0
}

// ReadAgain has Run read the file at key again, as if the watcher had
// reported it: a sender that found the file changed or gone under a job
// cannot count on another report (the watcher may have reported the change
// already, while the job still held the old content).
func (in *Intake) ReadAgain(key state.FileKey) {
	in.mu.Lock()
	in.rereads = append(in.rereads, key)
	in.mu.Unlock()
	select {
	case in.again <- struct{}{}:
	default:
	}
}

// CleanSpool removes shapefile zips no job needs any more (those of jobs
// that failed, were cancelled or superseded) and half-written ones.
func (in *Intake) CleanSpool() {
	entries, err := os.ReadDir(in.spool)
	if err != nil {
		return
	}
	needed := map[string]bool{}
	_ = in.store.Jobs(state.JobFilter{}, func(j state.Job) error {
		needed[j.SHA256+".zip"], needed[j.SHA256+mtsSpoolExt] = true, true
		return nil
	})
	for _, e := range entries {
		if !needed[e.Name()] {
			os.Remove(filepath.Join(in.spool, e.Name()))
		}
	}
}

// Done lets go of what a job's sending needed: a shapefile's zip.
func (in *Intake) Done(j state.Job) {
	in.removeSpool(filepath.Join(in.spool, j.SHA256+".zip"), "")
	in.removeSpool(filepath.Join(in.spool, j.SHA256+mtsSpoolExt), "")
}
