package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// logOptions are the --log-format and --log-level flags.
type logOptions struct {
	format string
	level  string
}

// logFlags declares the flags; format is the default --log-format: "auto"
// for the daemon, "text" for commands a person or cron reads.
func logFlags(fs *flag.FlagSet, format string) *logOptions {
	lo := &logOptions{}
	fs.StringVar(&lo.format, "log-format", format, "text, json, or auto: text on a terminal, JSON otherwise (under a service)")
	fs.StringVar(&lo.level, "log-level", "info", "debug, info, warn or error")
	return lo
}

// logger builds the slog logger the flags ask for, writing to w.
func (lo *logOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lo.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", lo.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(lo.format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "auto", "":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text, json or auto", lo.format)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
