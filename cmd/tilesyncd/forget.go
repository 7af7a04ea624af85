package main

import (
	"flag"
	"fmt"
	"io"
)

func init() {
	register(&command{
		name:    "forget",
		summary: "forget that files were sent, so they are sent again",
		usage:   "[--config FILE] PATH...",
		help: `Makes tilesyncd forget what it knows of the named files: the next scan reads
them again and uploads them, even if their tileset already has these bytes
(for instance after the tileset was deleted or changed in Mapbox Studio).
Every upload is billed by Mapbox: forget only what must be sent again.

It changes the state database, which the daemon holds while it runs: stop the
daemon first.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) == 0 {
					return usageError{"name the files to forget"}
				}
				cfg, store, err := openStateForWrite(*path, stderr)
				if err != nil {
					return err
				}
				defer store.Close()
				for _, p := range args {
					key, err := fileKeyOf(cfg, p)
					if err != nil {
						return usageError{err.Error()}
					}
					if err := store.ForgetFile(key); err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
					fmt.Fprintf(stdout, "forgotten: %s (it is sent again at the next scan)\n", p)
				}
				return nil
			}
		},
	})
}
