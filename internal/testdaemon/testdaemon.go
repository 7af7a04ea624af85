// Package testdaemon runs the real daemon inside a test process for the
// suites above it (chaos, fleet scenarios, the convergence checker): with
// test pacing (fast polls, retries and outage backoff, a short wait for
// answers), stopped gracefully and closed when the test ends. The daemon's
// own tests live in package daemon and cannot import it.
package testdaemon

import (
	"context"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/syncer"
)

// Pace scales the test pacing: polls from Pace, retries and the outage
// backoff from Pace/2 up to 10×Pace. Fast is what the suites use.
type Pace time.Duration

// Fast is 100 ms.
const Fast = Pace(100 * time.Millisecond)

// Options are daemon options with test pacing at p and a 1 s wait for
// answers; the caller sets Logger and may change any of them.
func Options(p Pace) daemon.Options {
	d := time.Duration(p)
	return daemon.Options{HTTPClient: testenv.HTTPClient(time.Second),
		Poll:    syncer.PollPace{First: d, Max: 4 * d, MinGap: d / 2, Idle: 2 * d, BusyGap: 2 * d, BusyMax: 4 * d},
		Backoff: syncer.Backoff{Min: d / 2, Max: 10 * d},
		Budget:  ratelimit.Options{MinOutage: d / 2, MaxOutage: 10 * d}}
}

// Proc is a daemon running in the test process.
type Proc struct {
	D      *daemon.Daemon
	cancel context.CancelFunc
	done   chan error
}

// Start opens a daemon on cfg with o and runs it until Stop or the end of
// the test.
func Start(tb testing.TB, cfg *config.Config, o daemon.Options) *Proc {
	tb.Helper()
	d, err := daemon.Open(cfg, o)
	if err != nil {
		tb.Fatalf("open the daemon: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{D: d, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- d.Run(ctx) }()
	tb.Cleanup(func() { p.Stop() })
	return p
}

// Idle reports whether the daemon's queue is empty (failed jobs aside).
func (p *Proc) Idle() bool {
	ok, err := p.D.Syncer().Idle()
	return err == nil && ok
}

// Stop stops the daemon gracefully, closes it, and returns what Run
// returned (nil after a stop). Later calls do nothing and return nil.
func (p *Proc) Stop() error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	err := <-p.done
	p.D.Close()
	p.cancel = nil
	return err
}
