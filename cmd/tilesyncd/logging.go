package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/internal/console"
)

// logOptions are the --log-format and --log-level flags.
type logOptions struct {
	format string
	level  string
	// console: "auto" means the console format on a terminal (run, sync
	// --once and demo, which a person watches); else text there.
	console bool
	// offTerminal is what "auto" means when stderr is not a terminal: JSON
	// for the daemon (under a service), text for the commands.
	offTerminal string
	// stdout is the command's standard output: the live progress display
	// is shown only when it, too, is a terminal. nil: not one.
	stdout io.Writer
}

// logFlags declares the flags; format is the default --log-format: "auto"
// (text on a terminal, JSON otherwise) for the daemon, "text" for commands
// a person or cron reads.
func logFlags(fs *flag.FlagSet, format string) *logOptions {
	lo := &logOptions{offTerminal: "json"}
	fs.StringVar(&lo.format, "log-format", format, "text, json, or auto: text on a terminal, JSON otherwise (under a service)")
	fs.StringVar(&lo.level, "log-level", "info", "debug, info, warn or error")
	return lo
}

// consoleLogFlags declares the flags of the commands a person watches: run,
// sync --once and demo. --log-format auto, the default, is the console on
// a terminal and offTerminal ("json" or "text") otherwise.
func consoleLogFlags(fs *flag.FlagSet, offTerminal string) *logOptions {
	lo := &logOptions{console: true, offTerminal: offTerminal}
	fs.StringVar(&lo.format, "log-format", "auto", "console, text, json, or auto: console on a terminal (one short line per event, "+
		"progress bars for stagings), "+offTerminal+" otherwise")
	fs.StringVar(&lo.level, "log-level", "info", "debug, info, warn or error")
	return lo
}

// logFormatHelp explains the formats in run's, sync's and demo's help.
const logFormatHelp = `The console shows one short line per event: the time, what happened, the
file → its tileset, the size, the upload ID's first 8 characters, and
Mapbox's message when there is one (a long message goes on indented lines
below; nothing wraps). While stdout and stderr are both terminals, a
progress bar per file being staged (bytes sent, rate, time left) stays
below the lines. --log-format text or json keeps the structured log, one
logfmt line or JSON object per record with every field, as a service or a
pipe gets it.`

// resolve is the format in force: "console", "text" or "json".
func (lo *logOptions) resolve(w io.Writer) (string, error) {
	switch f := strings.ToLower(lo.format); f {
	case "console", "text", "json":
		return f, nil
	case "auto", "":
		switch {
		case isTerminal(w) && lo.console:
			return "console", nil
		case isTerminal(w):
			return "text", nil
		case lo.offTerminal != "":
			return lo.offTerminal, nil
		}
		return "json", nil
	}
	if lo.console {
		return "", fmt.Errorf("--log-format %q: want console, text, json or auto", lo.format)
	}
	return "", fmt.Errorf("--log-format %q: want text, json or auto", lo.format)
}

func (lo *logOptions) parseLevel() (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lo.level)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", lo.level)
	}
	return level, nil
}

// logger builds the slog logger the flags ask for, writing to w (the
// console format without a live display).
func (lo *logOptions) logger(w io.Writer) (*slog.Logger, error) {
	plain := *lo
	plain.stdout = nil // no live display
	sink, err := plain.open(w, nil)
	if err != nil {
		return nil, err
	}
	return sink.log, nil
}

// logSink is a command's log: its logger and, in the console format with
// stdout and stderr both terminals, the live display its lines print
// through, above the progress bars.
type logSink struct {
	log     *slog.Logger
	display *console.Display // nil: no live display
}

// open builds the log the flags ask for on stderr; roots are the watch
// folders (the console names files below them).
func (lo *logOptions) open(stderr io.Writer, roots []string) (*logSink, error) {
	format, err := lo.resolve(stderr)
	if err != nil {
		return nil, err
	}
	level, err := lo.parseLevel()
	if err != nil {
		return nil, err
	}
	sink := &logSink{}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		sink.log = slog.New(slog.NewTextHandler(stderr, opts))
	case "json":
		sink.log = slog.New(slog.NewJSONHandler(stderr, opts))
	default:
		if f, ok := stderr.(*os.File); ok && isTerminal(f) && isTerminal(lo.stdout) {
			sink.display = console.NewDisplay(f, console.DisplayOptions{})
			sink.log = slog.New(consoleHandler(sink.display, level, roots, true))
		} else {
			sink.log = slog.New(consoleHandler(stderr, level, roots, false))
		}
	}
	return sink, nil
}

// consoleHandler is the console's handler on w; with a display, w is it.
func consoleHandler(w io.Writer, level slog.Level, roots []string, progress bool) slog.Handler {
	width := func() int { return terminalWidth(w) }
	if d, ok := w.(*console.Display); ok {
		width = d.Width
	}
	return console.NewHandler(w, console.HandlerOptions{Level: level, Width: width, Roots: roots, Progress: progress})
}

// start runs the live display, if there is one, until the returned stop
// is called; stop removes the bars and prints what is still to print.
func (s *logSink) start() (stop func()) {
	if s.display == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.display.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// show makes the display's bars d's stagings (called again for each daemon
// Supervise opens after a reload).
func (s *logSink) show(d *daemon.Daemon) {
	if s.display != nil {
		s.display.SetSource(transfersOf(d))
	}
}

// lines is where other output to the terminal goes while the display runs
// (above the bars): the display, else w.
func (s *logSink) lines(w io.Writer) io.Writer {
	if s.display != nil {
		return s.display
	}
	return w
}

// transfersOf reads d's stagings in flight for the display: the bytes from
// the sender, each job's file from the state, read once per job. The
// display calls it from one goroutine only.
func transfersOf(d *daemon.Daemon) func() []console.Transfer {
	files := map[uint64]string{}
	return func() []console.Transfer {
		now := d.Syncer().Transfers()
		out := make([]console.Transfer, 0, len(now))
		for id, t := range now {
			file, ok := files[id]
			if !ok {
				j, found, err := d.Store().Job(id)
				if err != nil || !found {
					continue // ended meanwhile, or the daemon closed
				}
				file = j.Source.Path
				files[id] = file
			}
			out = append(out, console.Transfer{ID: id, File: file, Sent: t.Sent, Total: t.Total})
		}
		for id := range files {
			if _, ok := now[id]; !ok {
				delete(files, id)
			}
		}
		return out
	}
}

// watchRoots are the configuration's watch folders.
func watchRoots(cfg *config.Config) []string {
	roots := make([]string, len(cfg.Watch))
	for i, w := range cfg.Watch {
		roots[i] = w.Path
	}
	return roots
}

// isTerminal reports whether w is a terminal (not a file, a pipe or
// /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && console.IsTerminal(f)
}

// terminalWidth is w's width in columns when it is a terminal, else 0 (the
// console's default, 80).
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		return console.Width(f)
	}
	return 0
}
