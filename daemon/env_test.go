package daemon

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/syncer"

	"errors"
	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/watcher"
	"golang.org/x/sync/errgroup"
	"net/http"
)

// env is the shared test environment (testenv) with the daemon's test
// settings: a fast poll pace, and the control endpoint on a Unix socket.
type env struct {
	*testenv.Env
	t    *testing.T
	poll syncer.PollPace
	// transport, if set, wraps the daemon's HTTP transport (a test that
	// reads what is sent).
	transport func(http.RoundTripper) http.RoundTripper
}

type envOptions struct {
	storage    mapboxsim.Storage // nil: a MemStorage
	processing time.Duration
	rateLimit  int
	perMinute  int // the daemon's requests_per_minute (default 6000)
	extraYAML  string
	poll       syncer.PollPace // zero: fastPoll
	// control is the config's control: section; "" puts the control
	// endpoint on a Unix socket in the env's folder (control.sock).
	control string
	// clock is the test server's clock (default clock.Real): Mapbox's
	// clock off this machine's.
	clock clock.Clock
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.processing == 0 {
		o.processing = 300 * time.Millisecond
	}
	if o.perMinute == 0 {
		o.perMinute = 6000
	}
	if o.control == "" {
		o.control = "control:\n  listen: unix:control.sock\n"
	}
	if o.poll == (syncer.PollPace{}) {
		o.poll = fastPoll
	}
	te := testenv.New(t, testenv.Options{Storage: o.storage, PerMinute: o.perMinute, Extra: o.extraYAML, Control: o.control,
		Sim: mapboxsim.Options{ProcessingTime: o.processing, RateLimit: o.rateLimit, Clock: o.clock}})
	return &env{Env: te, t: t, poll: o.poll}
}

// fastPoll polls processing uploads every few tens of milliseconds.
var fastPoll = syncer.PollPace{First: 50 * time.Millisecond, Max: 200 * time.Millisecond, MinGap: 50 * time.Millisecond, Idle: 100 * time.Millisecond,
	BusyGap: 100 * time.Millisecond, BusyMax: 200 * time.Millisecond}

// open opens a daemon on the env.
func (e *env) open() *Daemon {
	e.t.Helper()
	hc := testenv.HTTPClient(time.Second)
	if e.transport != nil {
		hc.Transport = e.transport(hc.Transport)
	}
	d, err := Open(e.Config(), Options{Logger: e.Logger(), Poll: e.poll, HTTPClient: hc,
		Backoff: syncer.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond},
		Budget:  ratelimit.Options{MinOutage: 20 * time.Millisecond, MaxOutage: 500 * time.Millisecond}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// syncOnce opens a daemon, syncs once and closes it.
func (e *env) syncOnce() Summary {
	e.t.Helper()
	d := e.open()
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := d.SyncOnce(ctx)
	if err != nil {
		e.t.Fatalf("SyncOnce: %v", err)
	}
	return sum
}

// copyExamples copies the bundled example files into the drop folder.
func (e *env) copyExamples() []string {
	e.t.Helper()
	src := filepath.Join("..", "examples", "drop")
	var rels []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		e.Write(filepath.ToSlash(rel), string(data))
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rels
}

// runPipeline runs d's intake on events, and its sender, without watchers,
// until ctx ends; it returns nil on cancellation.
func runPipeline(ctx context.Context, d *Daemon, events <-chan watcher.Event) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.Intake().Run(ctx, events) })
	g.Go(func() error { return d.Syncer().Run(ctx) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
