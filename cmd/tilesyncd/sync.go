package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/terminal"
)

func init() {
	register(&command{
		name:    "sync",
		summary: "send everything pending once, wait for Mapbox, print a summary (for cron)",
		usage:   "--once [--config FILE] [--json] [--timeout D] [--log-format auto|console|text|json] [--log-level LEVEL]",
		help: `Scans every watched folder, sends what is new or changed (and any work an
earlier run left), waits until Mapbox has processed every upload, prints a
summary and exits: 0 if everything succeeded, 1 if any file failed or was
refused, 2 on a configuration error. Files are taken as they are, without
waiting for them to settle: run it when nothing is being copied in.
It cannot run while the daemon runs on the same state database.

The summary goes to stdout (--json: one JSON object); the log to stderr:
the console on a terminal, text otherwise (for cron), or as --log-format
says.

` + logFormatHelp,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			once := fs.Bool("once", false, "required: sync once and exit")
			asJSON := fs.Bool("json", false, "print the summary as JSON")
			timeout := fs.Duration("timeout", 2*time.Hour, "give up after this long (exit 1)")
			lf := consoleLogFlags(fs, "text")
			return func(args []string, stdout, stderr io.Writer) error {
				if !*once {
					return usageError{"--once is required (the daemon is 'tilesyncd run')"}
				}
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				lf.stdout = stdout
				if _, err := lf.open(io.Discard, nil); err != nil { // the flags, before the configuration
					return usageError{err.Error()}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{RequireToken: true}, stderr)
				if err != nil {
					return err
				}
				sink, err := lf.open(stderr, watchRoots(cfg))
				if err != nil {
					return usageError{err.Error()}
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				d, err := daemon.Open(cfg, daemon.Options{Logger: sink.log, Once: true})
				if err != nil {
					return err
				}
				defer d.Close()
				sink.show(d)
				stopDisplay := sink.start()
				sum, err := d.SyncOnce(ctx)
				stopDisplay()
				printSummary(stdout, sum, *asJSON)
				if err != nil {
					return err
				}
				if sum.Failed > 0 || sum.Refused > 0 || len(sum.Failures) > 0 {
					return exitError{code: 1}
				}
				return nil
			}
		},
	})
}

func printSummary(w io.Writer, s daemon.Summary, asJSON bool) {
	type failure struct {
		Path    string `json:"path"`
		Tileset string `json:"tileset"`
		Reason  string `json:"reason"`
	}
	var fails []failure
	for _, j := range s.Failures {
		fails = append(fails, failure{j.Source.String(), j.Tileset, j.LastError})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.Encode(struct {
			Uploaded  int64     `json:"uploaded"`
			Unchanged int64     `json:"unchanged"`
			Refused   int64     `json:"refused"`
			Failed    int64     `json:"failed"`
			Cancelled int64     `json:"cancelled"`
			Failures  []failure `json:"failures"`
			Seconds   float64   `json:"seconds"`
		}{s.Uploaded, s.Unchanged, s.Refused, s.Failed, s.Cancelled, fails, s.Took.Seconds()})
		return
	}
	fmt.Fprintf(w, "uploaded %d, unchanged %d, refused %d, failed %d, cancelled %d in %s\n",
		s.Uploaded, s.Unchanged, s.Refused, s.Failed, s.Cancelled, s.Took.Round(time.Millisecond))
	for _, f := range fails {
		terminal.Fprintf(w, "failed: %s → %s: %s\n", f.Path, f.Tileset, f.Reason)
	}
}
