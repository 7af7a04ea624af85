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
progress is checkpointed, and it exits within 10 seconds. Logs go to stderr:
readable text on a terminal, JSON otherwise (or as --log-format says).
Exit 0 after a stop, 1 on a failure, 2 on a configuration error.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			lf := logFlags(fs)
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
func runWith(ctx context.Context, configPath string, lf *logOptions, stderr io.Writer) error {
	log, err := lf.logger(stderr)
	if err != nil {
		return usageError{err.Error()}
	}
	cfg, err := loadConfig(configPath, config.LoadOptions{RequireToken: true}, stderr)
	if err != nil {
		return err
	}
	d, err := daemon.Open(cfg, daemon.Options{Logger: log})
	if err != nil {
		return err
	}
	defer d.Close()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-time.After(stopTimeout):
		return fmt.Errorf("did not stop within %s", stopTimeout)
	}
}
