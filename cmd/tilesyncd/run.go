package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"

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

// runDaemon runs the daemon until ctx is cancelled, then stops gracefully
// (checkpoint, exit within daemon.DefaultStopTimeout). The service wrapper
// calls it; logs are text on a terminal, JSON otherwise.
func runDaemon(ctx context.Context, configPath string, _, stderr io.Writer) error {
	return runWith(ctx, configPath, &logOptions{format: "auto", level: "info"}, stderr)
}

// runWith runs the daemon with the given logging until ctx is cancelled,
// reloading the configuration on SIGHUP or when its file changes
// (daemon.Supervise).
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
	return daemon.Supervise(ctx, cfg, daemon.Options{Logger: log, Version: version},
		daemon.Lifecycle{ConfigPath: configPath, Reload: reload})
}
