package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/state"
)

func init() {
	register(&command{
		name:    "compact",
		summary: "give back the space the state database no longer uses (daemon stopped)",
		usage:   "[--config FILE]",
		help: `The state database never shrinks by itself: the space of records it removes
(files deleted from the watch folders, history beyond its limits) is reused,
not given back. compact copies every record into a new file (bbolt's
compaction), checks the copy as tilesyncd checks the database at start, and
puts it in the old file's place; it prints the sizes before and after.

It needs the database to itself: stop the daemon first (it refuses to run
beside one). A failure leaves the database as it was.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{}, stderr)
				if err != nil {
					return err
				}
				if _, err := os.Stat(cfg.State.Path); err != nil {
					return fmt.Errorf("no state database at %s: nothing to compact", cfg.State.Path)
				}
				before, after, err := state.Compact(cfg.State.Path, state.Options{})
				if errors.Is(err, state.ErrLocked) {
					return fmt.Errorf("the daemon is running and holds %s: stop it first (tilesyncd stop, or systemctl stop tilesyncd)", cfg.State.Path)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "compacted %s: %s → %s\n", cfg.State.Path, sizeOf(before), sizeOf(after))
				return nil
			}
		},
	})
}

// sizeOf prints a file size for people.
func sizeOf(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
