package main

import (
	"flag"
	"io"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/terminal"
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

With a daemon running, forget asks it through its control endpoint
(control.listen), and it reads the files again and sends them at once. With
none running, it changes the state file, and the files are sent at the
daemon's next start (or 'tilesyncd sync --once').`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) == 0 {
					return usageError{"name the files to forget"}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{}, stderr)
				if err != nil {
					return err
				}
				var req control.ForgetRequest
				for _, p := range args {
					key, err := fileKeyOf(cfg, p)
					if err != nil {
						return usageError{err.Error()}
					}
					req.Files = append(req.Files, key)
				}
				res, viaDaemon, err := act(cfg, control.PathForget, req, func(store *state.Store) (control.ActionResult, error) {
					return daemon.ForgetInStore(store, cfg, req.Files)
				})
				if err != nil {
					return err
				}
				then := "it is sent again at the daemon's next start or sync"
				if viaDaemon {
					then = "the running daemon reads it again and sends it now"
				}
				for _, d := range res.Done {
					terminal.Fprintf(stdout, "forgotten: %s (%s)\n", d.Source, then)
				}
				printSkipped(stderr, res)
				return nil
			}
		},
	})
}
