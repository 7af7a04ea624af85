package daemon

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"strings"
)

// Lifecycle says how Supervise runs the daemon over its configuration's life.
type Lifecycle struct {
	// ConfigPath is the configuration file, loaded again on a reload.
	ConfigPath string
	// Load loads the configuration file again, with the token; nil:
	// config.Load with RequireToken.
	Load func(path string) (*config.Config, error)
	// Reload delivers reload requests (SIGHUP); nil: none but file changes.
	Reload <-chan os.Signal
	// CheckInterval is how often the configuration file is looked at for
	// changes; zero: DefaultCheckInterval.
	CheckInterval time.Duration
	// StopTimeout bounds a graceful stop; zero: DefaultStopTimeout.
	StopTimeout time.Duration
}

// Defaults of Lifecycle.
const (
	DefaultCheckInterval = 2 * time.Second
	DefaultStopTimeout   = 10 * time.Second
)

// Supervise runs a daemon on cfg until ctx is cancelled, then stops it
// gracefully (within StopTimeout). On a reload request, or when the
// configuration file changes, it loads the file again: a valid
// configuration replaces the running one (the daemon stops gracefully and
// starts again on it; queued and half-sent work is in the state database
// and carries on), an invalid one is refused with the reason, and the last
// good configuration stays in force. `tilesyncd run` and the service run it.
func Supervise(ctx context.Context, cfg *config.Config, opts Options, lc Lifecycle) error {
	if lc.Load == nil {
		lc.Load = func(p string) (*config.Config, error) {
			return config.Load(p, config.LoadOptions{RequireToken: true})
		}
	}
	if lc.CheckInterval <= 0 {
		lc.CheckInterval = DefaultCheckInterval
	}
	if lc.StopTimeout <= 0 {
		lc.StopTimeout = DefaultStopTimeout
	}
	log := opts.Logger
	changed := watchFile(ctx, lc.ConfigPath, lc.CheckInterval)
	for {
		d, err := Open(cfg, opts)
		if err != nil {
			return err
		}
		if opts.Opened != nil {
			opts.Opened(d)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d.Run(runCtx) }()
		recipes := watchRecipes(runCtx, cfg, lc.CheckInterval) // mts.go
		var next *config.Config
		for next == nil {
			select {
			case err := <-done:
				stop()
				d.Close()
				return err
			case <-ctx.Done():
			case <-lc.Reload:
				log.Info("SIGHUP: reloading the configuration", "config", lc.ConfigPath)
			case <-changed:
				log.Info("the configuration file changed: reloading it", "config", lc.ConfigPath)
			case <-recipes:
				log.Info("an MTS rule's recipe file changed: reloading the configuration", "config", lc.ConfigPath)
			}
			if ctx.Err() != nil {
				break
			}
			newCfg, err := lc.Load(lc.ConfigPath)
			if err != nil {
				log.Error("new configuration refused; the last good one stays in force", "config", lc.ConfigPath, "err", err.Error())
				continue
			}
			for _, w := range newCfg.Warnings {
				log.Warn("configuration", "warning", w)
			}
			next = newCfg
		}
		stop()
		err = waitStopped(done, lc.StopTimeout)
		d.Close()
		if err != nil || ctx.Err() != nil {
			return err
		}
		log.Info("configuration reloaded: restarting on it", "config", lc.ConfigPath)
		cfg = next
	}
}

// waitStopped waits for a stopping daemon, at most timeout.
func waitStopped(done <-chan error, timeout time.Duration) error {
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("did not stop within %s", timeout)
	}
}

// watchFile signals when the file's size or modification time changes,
// checking every interval, until ctx ends. (Polling, not notifications: the
// file may be replaced by an editor's rename, or live on a network drive.)
func watchFile(ctx context.Context, path string, interval time.Duration) <-chan struct{} {
	return watchFiles(ctx, []string{path}, interval)
}

// watchFiles is watchFile for several files: it signals when any of them
// changes, appears or goes.
func watchFiles(ctx context.Context, files []string, interval time.Duration) <-chan struct{} {
	ch := make(chan struct{}, 1)
	stamp := func() string {
		var b strings.Builder
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				fmt.Fprintf(&b, "%d %d;", fi.Size(), fi.ModTime().UnixNano())
			} else {
				b.WriteString("missing;")
			}
		}
		return b.String()
	}
	last := stamp()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if now := stamp(); now != last {
					last = now
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return ch
}
