// Package daemon assembles tilesyncd from its parts and owns its lifecycle:
// it opens the state database, builds the Mapbox client behind the
// account-wide budget, the S3 stager, one watcher per watch folder, intake
// and the sender, and runs them (Run); it reloads the configuration on a
// signal or a change to its file (Supervise, lifecycle.go); it syncs once
// (SyncOnce). The commands `run`, the service and `sync --once` only parse
// flags, set up logging and signals, and print.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/intake"
	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/notify"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/syncer"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// Options tune a Daemon beyond its configuration; the zero value is right
// for production.
type Options struct {
	Logger *slog.Logger
	// HTTPClient carries the API requests; nil: mapbox.NewHTTPClient().
	HTTPClient *http.Client
	// Staging overrides staging options (tests lower the part size); the
	// endpoint always comes from the configuration.
	Staging staging.Options
	// Workers is how many files are staged at once; 0: the syncer's default.
	Workers int
	// Once: a refused token ends SyncOnce at once.
	Once bool
	// Poll paces polling; zero: syncer.DefaultPollPace.
	Poll syncer.PollPace
	// Backoff paces a job's retries; zero: syncer.DefaultBackoff.
	Backoff syncer.Backoff
	// Budget tunes the API budget's shared outage backoff (its logger is set here).
	Budget ratelimit.Options
	// Version is reported by the control endpoint (daemon/control.go).
	Version string
	// StallAfter: see control.Options.StallAfter; zero: its default.
	StallAfter time.Duration
	// Clock is the one clock the state, the sender and the control endpoint
	// stamp and judge by; nil: clock.Real.
	Clock clock.Clock
	// CreateQuiet: see syncer.Options.CreateQuiet; zero: twice HTTPClient's
	// ResponseHeaderTimeout when it is an *http.Transport, else the default.
	CreateQuiet time.Duration
	// Cleanup paces the cleanup of Mapbox's upload list (cleanup.go).
	Cleanup CleanupPace
	// Opened, when set, is called with each Daemon Supervise opens (again
	// after each reload), before it runs: `run` shows its stagings' progress.
	Opened func(*Daemon)
}

// Daemon is tilesyncd assembled.
type Daemon struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *state.Store
	budget   ratelimit.Limiter
	client   *mapbox.Client
	clock    clock.Clock
	notifier *notify.Notifier // nil without a notify list (notify.go)
	intake   *intake.Intake
	syncer   *syncer.Syncer
	watchers []*watcher.Watcher
	control  controlParts // daemon/control.go
	fleet    fleetParts   // daemon/fleet.go; zero without a fleet
	cleanup  CleanupPace  // daemon/cleanup.go
	// bandwidth is the cap on staging the stager applies (daemon/bandwidth.go).
	bandwidth bwlimit.Schedule
}

// Open builds a Daemon for cfg, whose token must be resolved
// (config.LoadOptions.RequireToken). It opens the state database, creating
// its folder: another tilesyncd on the same database is an error.
func Open(cfg *config.Config, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Mapbox.Token.IsZero() {
		return nil, errors.New("no Mapbox token")
	}
	if err := os.MkdirAll(filepath.Dir(cfg.State.Path), 0o700); err != nil {
		return nil, fmt.Errorf("state folder: %w", err)
	}
	store, err := state.Open(cfg.State.Path, state.Options{Logger: log.With("component", "state"), Clock: opts.Clock})
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, log: log, store: store, clock: clock.Or(opts.Clock), cleanup: opts.Cleanup}
	if err := d.build(opts); err != nil {
		d.closeFleet()
		store.Close()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) build(opts Options) error {
	cfg := d.cfg
	bo := opts.Budget
	bo.Logger = d.log.With("component", "budget")
	// The fleet's shared one in fleet mode (fleet.go); MTS publishes have a
	// budget of their own (2 a minute).
	budget, err := d.newBudget(bo)
	if err != nil {
		return err
	}
	d.budget = budget
	client, err := mapbox.New(mapbox.Options{
		BaseURL: cfg.Mapbox.APIURL, Username: cfg.Mapbox.Username, Token: cfg.Mapbox.Token.Reveal(),
		HTTPClient: opts.HTTPClient, Logger: d.log.With("component", "mapbox"),
		Gate: d.budget.Wait, Observe: d.observe(opts),
	})
	if err != nil {
		return err
	}
	d.client = client
	so := opts.Staging
	so.Endpoint = cfg.Mapbox.S3Endpoint
	if so.Checksum == "" {
		so.Checksum = staging.Checksum(cfg.Mapbox.S3Checksum)
	}
	if so.Concurrency == 0 {
		so.Concurrency = cfg.Mapbox.ParallelParts
	}
	so.Logger = d.log.With("component", "staging")
	if !so.BandwidthLimit.Limited() {
		so.BandwidthLimit = cfg.Mapbox.BandwidthLimit
	}
	d.bandwidth = so.BandwidthLimit
	stager, err := staging.New(so)
	if err != nil {
		return err
	}
	if err := d.buildNotifier(); err != nil {
		return err
	}
	bk := opts.Backoff.WithDefaults()
	d.intake, err = intake.New(intake.Options{Config: cfg, Store: d.store, Logger: d.log.With("component", "intake"),
		RetryMin: bk.Min, RetryMax: bk.Max, Queued: func() { d.syncer.Wake() }, Refused: d.notifyRefused})
	if err != nil {
		return err
	}
	d.syncer, err = syncer.New(syncer.Options{Config: cfg, Store: d.store, API: client, Stager: stager, Source: d.intake, Budget: d.budget,
		Logger: d.log.With("component", "syncer"), Workers: opts.Workers, Once: opts.Once, Poll: opts.Poll, Backoff: opts.Backoff,
		CreateQuiet: createQuiet(opts), Clock: d.clock, Coordinator: d.coordinator(), Ended: d.notifyEnded})
	if err != nil {
		return err
	}
	for _, w := range cfg.Watch {
		ww, err := watcher.New(watcher.Options{
			Root: w.Path, Mode: watcher.Mode(w.Mode), Recursive: w.Recursive, FollowLinks: w.FollowLinks,
			PollInterval: w.PollInterval, Settle: w.Settle, RescanInterval: w.RescanInterval,
			Ignore: w.Ignores,
			FileID: state.FileIdentity,
			Logger: d.log.With("component", "watcher", "watch", w.Path),
		})
		if err != nil {
			return err
		}
		d.watchers = append(d.watchers, ww)
	}
	return nil
}

// Close leaves the fleet, if any, and closes the state database. Call it
// after Run or SyncOnce returned.
func (d *Daemon) Close() error { return errors.Join(d.closeFleet(), d.store.Close()) }

// Store is the daemon's state database (for status).
func (d *Daemon) Store() *state.Store { return d.store }

// Syncer is the daemon's sender (for status).
func (d *Daemon) Syncer() *syncer.Syncer { return d.syncer }

// Intake is the daemon's intake (for status).
func (d *Daemon) Intake() *intake.Intake { return d.intake }

// Budget is the daemon's API budget (for status).
func (d *Daemon) Budget() ratelimit.Limiter { return d.budget }

// Watchers are the daemon's watchers, one per watch folder.
func (d *Daemon) Watchers() []*watcher.Watcher { return d.watchers }

// Run watches and syncs until ctx is cancelled, then stops: new work stops
// at once, staging in progress is interrupted (it resumes at the next
// start), and Run returns once every goroutine has ended. It returns nil
// after a cancellation.
func (d *Daemon) Run(ctx context.Context) error {
	d.log.Info("tilesyncd starting", "account", d.cfg.Mapbox.Username, "api", d.cfg.Mapbox.APIURL,
		"state", d.cfg.State.Path, "watch_folders", len(d.watchers))
	if err := d.loadPauses(); err != nil { // daemon/actions.go
		return err
	}
	controlLn, controlErr := d.listenControl()
	if controlErr != nil {
		return controlErr
	}
	g, ctx := errgroup.WithContext(ctx)
	srv, err := d.controlServer()
	if err != nil {
		if controlLn != nil {
			controlLn.Close()
		}
		return err
	}
	if controlLn != nil {
		g.Go(func() error { return d.serveControl(ctx, srv, controlLn) })
	}
	events := make(chan watcher.Event)
	for _, w := range d.watchers {
		g.Go(func() error { return w.Run(ctx) })
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case ev, ok := <-w.Events():
					if !ok {
						return nil // the watcher stopped
					}
					select {
					case events <- ev:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
		})
	}
	g.Go(func() error { return d.intake.Run(ctx, events) })
	g.Go(func() error { return d.syncer.Run(ctx) })
	g.Go(func() error { return d.runCleanup(ctx) })
	g.Go(func() error { return d.runNotifier(ctx, srv.Health) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	d.log.Info("tilesyncd stopped")
	return err
}

// Summary is what SyncOnce did.
type Summary struct {
	Uploaded, Unchanged, Refused, Failed, Cancelled int64
	// Failures are the jobs that failed permanently, with their reasons.
	Failures []state.Job
	Took     time.Duration
}

// SyncOnce scans every watch folder, sends everything pending (including work
// an earlier run left), waits until Mapbox has processed it, and returns what
// happened. Files are taken as they are: no settling.
func (d *Daemon) SyncOnce(ctx context.Context) (Summary, error) {
	start := time.Now()
	d.notePausesIgnored() // daemon/actions.go
	if err := d.intake.Sync(ctx); err != nil {
		return Summary{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		g, ctx := errgroup.WithContext(runCtx)
		g.Go(func() error { return d.intake.Run(ctx, nil) }) // files the sender asks to read again
		g.Go(func() error { return d.syncer.Run(ctx) })
		g.Go(func() error { return d.runNotifier(ctx, nil) })
		err := g.Wait()
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		done <- err
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	runErr := func() error {
		for {
			idle, err := d.syncer.Idle()
			if err == nil {
				err = d.syncer.AuthError()
			}
			if err != nil || idle {
				cancel()
				<-done
				return err
			}
			select {
			case err := <-done: // Run ends by itself only when ctx ends or it fails
				return err
			case <-tick.C:
			}
		}
	}()
	if runErr == nil {
		runErr = ctx.Err() // interrupted or timed out before the work was done
	}
	st, in := d.syncer.Stats(), d.intake.Stats()
	sum := Summary{Uploaded: st.Uploaded.Load(), Unchanged: st.Unchanged.Load() + in.Unchanged.Load(), Refused: in.Refused.Load(),
		Failed: st.Failed.Load(), Cancelled: st.Cancelled.Load() + in.Cancelled.Load(), Took: time.Since(start)}
	failures, err := d.store.Failed()
	if err != nil {
		return sum, err
	}
	sum.Failures = failures
	return sum, runErr
}

// createQuiet is twice the HTTP client's wait for an answer (see
// syncer.Options.CreateQuiet), or Options.CreateQuiet when set.
func createQuiet(opts Options) time.Duration {
	if opts.CreateQuiet > 0 {
		return opts.CreateQuiet
	}
	if opts.HTTPClient != nil {
		if t, ok := opts.HTTPClient.Transport.(*http.Transport); ok && t.ResponseHeaderTimeout > 0 {
			return 2 * t.ResponseHeaderTimeout
		}
	}
	return syncer.DefaultCreateQuiet
}
