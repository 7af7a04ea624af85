package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
)

func init() {
	register(&command{
		name:    "run",
		summary: "run the daemon in the foreground (what the service runs)",
		usage:   "[--config FILE] [--log-format text|json] [--log-level LEVEL]",
		help: `Watches the configured folders and keeps the tilesets in step until stopped.
Files are uploaded once they have settled; unchanged files are skipped; work
interrupted by a stop or a crash resumes at the next start.

SIGINT or SIGTERM stops it gracefully: no new work is taken, staging in
progress is checkpointed, and it exits within 10 seconds. SIGHUP, or a change
to the configuration file, reloads it: a valid new configuration takes effect
without losing queued work; an invalid one is refused, logged with the reason,
and the last good one stays in force. Logs go to stderr:
readable text on a terminal, JSON otherwise (or as --log-format says).
Exit 0 after a stop, 1 on a failure, 2 on a configuration error.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			lf := logFlags(fs, "auto")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				if underWindowsServiceManager() {
					return runAsService(*path, stdout, stderr)
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return runWith(ctx, *path, lf, stderr)
			}
		},
	})
}

// stopTimeout bounds a graceful stop.
const stopTimeout = 10 * time.Second

// runDaemon runs the daemon until ctx is cancelled, then stops gracefully
// (checkpoint, exit within stopTimeout). The service wrapper calls it; logs
// are text on a terminal, JSON otherwise.
func runDaemon(ctx context.Context, configPath string, _, stderr io.Writer) error {
	return runWith(ctx, configPath, &logOptions{format: "auto", level: "info"}, stderr)
}

// runWith runs the daemon with the given logging until ctx is cancelled.
// On SIGHUP, or when the configuration file changes, it loads the file
// again: a valid configuration replaces the running one (the daemon stops
// gracefully and starts again on it; queued and half-sent work is in the
// state database and carries on), an invalid one is refused with the reason
// and the last good configuration stays in force.
func runWith(ctx context.Context, configPath string, lf *logOptions, stderr io.Writer) error {
	log, err := lf.logger(stderr)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg, err := loadConfig(configPath, config.LoadOptions{RequireToken: true}, stderr)
	if err != nil {
		return err
	}
	reload := make(chan os.Signal, 1)
	notifyReload(reload)
	defer signal.Stop(reload)
	changed := watchFile(ctx, configPath, configCheckInterval)
	for {
		d, err := daemon.Open(cfg, daemon.Options{Logger: log, Version: version})
		if err != nil {
			return err
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d.Run(runCtx) }()
		var next *config.Config
		for next == nil {
			select {
			case err := <-done:
				stop()
				d.Close()
				return err
			case <-ctx.Done():
			case <-reload:
				log.Info("SIGHUP: reloading the configuration", "config", configPath)
			case <-changed:
				log.Info("the configuration file changed: reloading it", "config", configPath)
			}
			if ctx.Err() != nil {
				break
			}
			newCfg, err := config.Load(configPath, config.LoadOptions{RequireToken: true})
			if err != nil {
				log.Error("new configuration refused; the last good one stays in force", "config", configPath, "err", err.Error())
				continue
			}
			for _, w := range newCfg.Warnings {
				log.Warn("configuration", "warning", w)
			}
			next = newCfg
		}
		stop()
		err = waitStopped(done)
		d.Close()
		if err != nil || ctx.Err() != nil {
			return err
		}
		log.Info("configuration reloaded: restarting on it", "config", configPath)
		cfg = next
	}
}

// configCheckInterval is how often the configuration file is looked at for changes.
const configCheckInterval = 2 * time.Second

// waitStopped waits for a stopping daemon, at most stopTimeout.
func waitStopped(done <-chan error) error {
	select {
	case err := <-done:
		return err
	case <-time.After(stopTimeout):
		return fmt.Errorf("did not stop within %s", stopTimeout)
	}
}

// watchFile signals when the file's size or modification time changes,
// checking every interval, until ctx ends. (Polling, not notifications: the
// file may be replaced by an editor's rename, or live on a network drive.)
func watchFile(ctx context.Context, path string, interval time.Duration) <-chan struct{} {
	ch := make(chan struct{}, 1)
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return "missing"
		}
		return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
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
