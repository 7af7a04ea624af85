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
		usage:   "[--config FILE] [--log-format auto|console|text|json] [--log-level LEVEL]",
		help: `Watches the configured folders and keeps the tilesets in step until stopped.
Files are uploaded once they have settled; unchanged files are skipped; work
interrupted by a stop or a crash resumes at the next start.

SIGINT or SIGTERM stops it gracefully: no new work is taken, staging in
progress is checkpointed, and it exits within 10 seconds. SIGHUP, or a change
to the configuration file, reloads it: a valid new configuration takes effect
without losing queued work; an invalid one is refused, logged with the reason,
and the last good one stays in force. Exit 0 after a stop, 1 on a failure,
2 on a configuration error.

The log goes to stderr: the console on a terminal, JSON otherwise (under a
service), or as --log-format says.

` + logFormatHelp,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			lf := consoleLogFlags(fs, "json")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				lf.stdout = stdout
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
// calls it; the log is structured, as it always was: text on a terminal,
// JSON otherwise.
func runDaemon(ctx context.Context, configPath string, _, stderr io.Writer) error {
	return runWith(ctx, configPath, &logOptions{format: "auto", level: "info", offTerminal: "json"}, stderr)
}

// runWith runs the daemon with the given logging until ctx is cancelled,
// reloading the configuration on SIGHUP or when its file changes
// (daemon.Supervise). In the console format on a terminal it shows the
// stagings' progress.
func runWith(ctx context.Context, configPath string, lf *logOptions, stderr io.Writer) error {
	if _, err := lf.open(io.Discard, nil); err != nil { // the flags, before the configuration
		return usageError{err.Error()}
	}
	cfg, err := loadConfig(configPath, config.LoadOptions{RequireToken: true}, stderr)
	if err != nil {
		return err
	}
	sink, err := lf.open(stderr, watchRoots(cfg))
	if err != nil {
		return usageError{err.Error()}
	}
	defer sink.start()()
	reload := make(chan os.Signal, 1)
	notifyReload(reload)
	defer signal.Stop(reload)
	return daemon.Supervise(ctx, cfg, daemon.Options{Logger: sink.log, Version: version, Opened: sink.show},
		daemon.Lifecycle{ConfigPath: configPath, Reload: reload})
}
