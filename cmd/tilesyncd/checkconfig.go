package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tilesyncd/tilesyncd/config"
)

func init() {
	register(&command{
		name:    "check-config",
		summary: "check the configuration file, without touching the network",
		usage:   "[--config FILE] [--no-token]",
		help: `Parses and validates the configuration: unknown keys, durations, globs,
regular expressions, templates, watch folders, the state path and the token
source. Every problem is printed with the file and line. Exit 0 when the
configuration is usable, 2 when it is not. Nothing is sent to Mapbox: 'tilesyncd
check' also tries the token.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			noToken := fs.Bool("no-token", false, "do not require a token (for a configuration used only with 'plan')")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{RequireToken: !*noToken}, stderr)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s: OK — account %s, %d watch folder(s), %d rule(s), state in %s\n",
					*path, cfg.Mapbox.Username, len(cfg.Watch), len(cfg.Rules), cfg.State.Path)
				return nil
			}
		},
	})
}
