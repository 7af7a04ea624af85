package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/intake"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// init registers the command. It is long because it holds the command's help text.
func init() {
	register(&command{
		name:    "adopt",
		summary: "record files as already uploaded, without sending them (after a lost state database)",
		usage:   "[--config FILE] [PATH...]",
		help: `Records the named files (or, with no PATH, every file tilesyncd would upload)
as what their tilesets already hold, without sending anything: no API request,
no charge. Use it when the tilesets are known to be current but tilesyncd's
state database is new — after a corrupt database was moved aside, after
moving tilesyncd to another machine, or when taking over a folder that was
uploaded by hand. Files are read and hashed; from then on only changes are sent.

A file whose content is NOT what its tileset holds would then not be sent
until it changes: adopt only what you know is current (check with 'tilesyncd
plan' first). It needs the state database, which the daemon holds while it
runs: stop the daemon first.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				cfg, err := loadConfig(*path, config.LoadOptions{RequireToken: false}, stderr)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Dir(cfg.State.Path), 0o700); err != nil {
					return fmt.Errorf("state folder: %w", err)
				}
				store, err := state.Open(cfg.State.Path, state.Options{})
				if err != nil {
					return err
				}
				defer store.Close()
				in, err := intake.New(intake.Options{Config: cfg, Store: store})
				if err != nil {
					return err
				}
				type target struct {
					w   *config.Watch
					rel string
				}
				var targets []target
				if len(args) == 0 {
					ds, err := plan.Walk(cfg)
					if err != nil {
						return err
					}
					watches := cfg.WatchByPath()
					for _, dcs := range ds {
						if dcs.Action == plan.Upload {
							targets = append(targets, target{watches[dcs.Watch], dcs.Path})
						}
					}
				}
				for _, p := range args {
					abs, err := filepath.Abs(p)
					if err != nil {
						return usageError{err.Error()}
					}
					w, rel, ok := cfg.WatchFor(abs)
					if !ok {
						return usageError{p + " is in no watch folder"}
					}
					targets = append(targets, target{w, rel})
				}
				failed := 0
				for _, t := range targets {
					ts, err := in.Adopt(context.Background(), t.w, t.rel)
					if err != nil {
						failed++
						terminal.Fprintf(stderr, "%s: not adopted: %v\n", t.rel, err)
						continue
					}
					terminal.Fprintf(stdout, "adopted: %s → %s\n", t.rel, ts)
				}
				fmt.Fprintf(stdout, "%d file(s) adopted, %d not\n", len(targets)-failed, failed)
				if failed > 0 {
					return exitError{code: 1}
				}
				return nil
			}
		},
	})
}
