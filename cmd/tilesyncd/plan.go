package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/plan"
)

func init() {
	register(&command{
		name:    "plan",
		summary: "show what would be done with every file in the watched folders (no network)",
		usage:   "[--config FILE] [--json]",
		help: `Walks every watched folder and prints one line per file: the action, the path
(relative to its watch folder), and the tileset ID, display name and rule, or
the reason. Nothing is sent anywhere and no token is needed.

Actions:
  upload     would be uploaded to the tileset shown
  skip       a rule says skip, or the file is part of a shapefile set
  ignored    a temporary or lock file, or one of the watch folder's ignore globs
  refused    Mapbox could not take it: unsupported type, too large, empty,
             incomplete shapefile
  no-rule    no rule matches it: it is not uploaded
  conflict   another file maps to the same tileset; the newer would win

With --json, one JSON object per line, with the stable fields path, rule,
tileset, name, action, reason (and watch, format, size).
Exit 0 on success, 2 on a configuration or usage error.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			asJSON := fs.Bool("json", false, "print one JSON object per file")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{}, stderr)
				if err != nil {
					return err
				}
				decisions, err := plan.Walk(cfg)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetEscapeHTML(false)
					for _, d := range decisions {
						if err := enc.Encode(d); err != nil {
							return err
						}
					}
					return nil
				}
				printPlan(stdout, cfg, decisions)
				return nil
			}
		},
	})
}

func printPlan(w io.Writer, cfg *config.Config, ds []plan.Decision) {
	counts := map[plan.Action]int{}
	watch := ""
	for _, d := range ds {
		if len(cfg.Watch) > 1 && d.Watch != watch {
			watch = d.Watch
			fmt.Fprintf(w, "%s:\n", watch)
		}
		counts[d.Action]++
		line := fmt.Sprintf("%-9s %s", d.Action, d.Path)
		switch d.Action {
		case plan.Upload:
			line += fmt.Sprintf(" → %s %q [%s]", d.Tileset, d.Name, d.Rule)
		case plan.Conflict:
			line += fmt.Sprintf(" → %s: %s [%s]", d.Tileset, d.Reason, d.Rule)
		case plan.Ignored:
			line += ": " + d.Reason
		default:
			line += ": " + d.Reason
			if d.Rule != "" {
				line += " [" + d.Rule + "]"
			}
		}
		fmt.Fprintln(w, line)
	}
	var parts []string
	for a, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, a))
	}
	sort.Strings(parts)
	fmt.Fprintf(w, "%d entries: %s\n", len(ds), strings.Join(parts, ", "))
}
