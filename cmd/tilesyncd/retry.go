package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/terminal"
)

func init() {
	register(&command{
		name:    "retry",
		summary: "try failed files again (they are otherwise not retried until they change)",
		usage:   "[--config FILE] (PATH... | --failed)",
		help: `A file whose upload failed permanently (Mapbox could not process it, or the
request was invalid) is not sent again until it changes. retry queues it again
as it is: name the files, or give --failed for every failed one. A file waiting
to retry after a transient error is made due now.

With a daemon running, retry asks it through its control endpoint
(control.listen), and it sends the files at once. With none running, it
changes the state file, and the files are sent at the daemon's next start (or
'tilesyncd sync --once').`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			all := fs.Bool("failed", false, "retry every failed file")
			return func(args []string, stdout, stderr io.Writer) error {
				if *all == (len(args) > 0) {
					return usageError{"name the files to retry, or give --failed"}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{}, stderr)
				if err != nil {
					return err
				}
				req := control.RetryRequest{Failed: *all}
				for _, p := range args {
					key, err := fileKeyOf(cfg, p)
					if err != nil {
						return usageError{err.Error()}
					}
					req.Files = append(req.Files, key)
				}
				res, viaDaemon, err := act(cfg, control.PathRetry, req, func(store *state.Store) (control.ActionResult, error) {
					return daemon.RetryInStore(store, cfg, req)
				})
				if err != nil {
					return err
				}
				for _, d := range res.Done {
					terminal.Fprintf(stdout, "queued again: %s → %s\n", d.Source, d.Tileset)
				}
				printSkipped(stderr, res)
				if viaDaemon {
					fmt.Fprintf(stdout, "%d file(s) queued again: the running daemon sends them now\n", len(res.Done))
				} else {
					fmt.Fprintf(stdout, "%d file(s) will be sent at the daemon's next start or sync\n", len(res.Done))
				}
				return nil
			}
		},
	})
}

// fileKeyOf finds the watch folder holding path (absolute, or relative to
// the working folder) and returns the file's key in the state.
func fileKeyOf(cfg *config.Config, path string) (state.FileKey, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return state.FileKey{}, err
	}
	w, rel, ok := cfg.WatchFor(abs)
	if !ok {
		return state.FileKey{}, fmt.Errorf("%s is in no watch folder", path)
	}
	return state.FileKey{Watch: w.Path, Path: rel}, nil
}
