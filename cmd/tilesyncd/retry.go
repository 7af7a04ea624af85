package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tilesyncd/tilesyncd/config"
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

It changes the state database, which the daemon holds while it runs: stop the
daemon first (or use 'tilesyncd sync --once' afterwards).`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			all := fs.Bool("failed", false, "retry every failed file")
			return func(args []string, stdout, stderr io.Writer) error {
				if *all == (len(args) > 0) {
					return usageError{"name the files to retry, or give --failed"}
				}
				cfg, store, err := openStateForWrite(*path, stderr)
				if err != nil {
					return err
				}
				defer store.Close()
				var jobs []state.Job
				if *all {
					if jobs, err = store.Failed(); err != nil {
						return err
					}
				} else {
					for _, p := range args {
						key, err := fileKeyOf(cfg, p)
						if err != nil {
							return usageError{err.Error()}
						}
						found, err := store.ListJobs(state.JobFilter{Source: key})
						if err != nil {
							return err
						}
						if len(found) == 0 {
							fmt.Fprintf(stderr, "%s: nothing failed or waiting for it (to send it again anyway: tilesyncd forget)\n", p)
						}
						jobs = append(jobs, found...)
					}
				}
				n := 0
				for _, j := range jobs {
					if j.Stage != state.StageFailed && j.Stage != state.StageRetryWait {
						continue
					}
					if _, err := store.Retry(j.ID); err != nil {
						terminal.Fprintf(stderr, "%s: %v\n", j.Source, err)
						continue
					}
					n++
					terminal.Fprintf(stdout, "queued again: %s → %s\n", j.Source, j.Tileset)
				}
				fmt.Fprintf(stdout, "%d file(s) will be sent at the daemon's next start or sync\n", n)
				return nil
			}
		},
	})
}

// openStateForWrite loads the configuration and opens its state database,
// explaining what to do when the daemon holds it.
func openStateForWrite(configPath string, stderr io.Writer) (*config.Config, *state.Store, error) {
	cfg, err := loadConfig(configPath, config.LoadOptions{}, stderr)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(cfg.State.Path); err != nil {
		return nil, nil, fmt.Errorf("no state database at %s: nothing has been synced with this configuration", cfg.State.Path)
	}
	store, err := state.Open(cfg.State.Path, state.Options{})
	if errors.Is(err, state.ErrLocked) {
		return nil, nil, fmt.Errorf("the daemon is running and holds %s: stop it first (tilesyncd stop, or systemctl stop tilesyncd)", cfg.State.Path)
	}
	if err != nil {
		return nil, nil, err
	}
	return cfg, store, nil
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
