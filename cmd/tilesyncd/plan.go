package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/intake"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/terminal"
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
  skip       unchanged since it was uploaded (from the state database, read
             without reading the file), queued, failed before, a rule says
             skip, or the file is part of a shapefile set
  ignored    a temporary or lock file, or one of the watch folder's ignore globs
  refused    Mapbox could not take it: unsupported type, too large, empty,
             incomplete shapefile
  no-rule    no rule matches it: it is not uploaded
  conflict   another file maps to the same tileset; the newer would win
  publish    a rule with target: mts would convert it and publish its
             tileset: the line shows the tileset source, the recipe and what
             the conversion gives (features, bytes, features dropped for
             having no geometry, nested properties MTS drops); a file that
             cannot be converted is refused with the reason; a file whose
             rule's recipe changed since its last publish is published again
  publish changeset (N changed, M removed)
             a rule with incremental: true would send the change since what
             its tileset holds as a changeset of N added or changed and M
             removed features (read from the state database)

With --json, one JSON object per line, with the stable fields path, rule,
tileset, name, action, reason (and watch, format, size; for MTS rules
target, source_id, recipe and conversion).
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
				store, note := openStateForPlan(cfg)
				if note != "" {
					fmt.Fprintln(stderr, note)
				}
				if store != nil {
					defer store.Close()
					markSettled(store, cfg, decisions)
				}
				planMTS(cfg, decisions, store) // plan_mts.go
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

// printPlan writes one line per decision. Each line is escaped as a whole
// (terminal.Escape): paths and reasons name files whoever writes to a watch
// folder chose; the display name, already %q-quoted, has no character left
// to escape.
func printPlan(w io.Writer, cfg *config.Config, ds []plan.Decision) {
	counts := map[plan.Action]int{}
	watch := ""
	for _, d := range ds {
		if len(cfg.Watch) > 1 && d.Watch != watch {
			watch = d.Watch
			fmt.Fprintf(w, "%s:\n", terminal.Escape(watch))
		}
		counts[d.Action]++
		line := fmt.Sprintf("%-9s %s", d.Action, d.Path)
		switch d.Action {
		case plan.Upload:
			line += fmt.Sprintf(" → %s %q [%s]", d.Tileset, d.Name, d.Rule)
		case plan.Publish, plan.PublishChangeset:
			line += mtsLine(d) // plan_mts.go
		case plan.Skip:
			line += ": " + d.Reason
			if d.Tileset != "" {
				line += " → " + d.Tileset
			}
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
		fmt.Fprintln(w, terminal.Escape(line))
	}
	var parts []string
	for a, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, a))
	}
	sort.Strings(parts)
	fmt.Fprintf(w, "%d entries: %s\n", len(ds), strings.Join(parts, ", "))
}

// openStateForPlan opens the state database read-only for plan; nil with
// no note when nothing was synced yet, nil and a note when it could not
// be opened.
func openStateForPlan(cfg *config.Config) (*state.Store, string) {
	if _, err := os.Stat(cfg.State.Path); err != nil {
		return nil, "" // nothing synced yet
	}
	store, err := state.Open(cfg.State.Path, state.Options{ReadOnly: true, LockTimeout: 500 * time.Millisecond})
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return nil, "note: the daemon is running and holds the state database; files it has already sent show as upload"
		}
		return nil, fmt.Sprintf("note: state database not consulted: %v", err)
	}
	return store, ""
}

// markSettled turns uploads the state database says are done into skips.
func markSettled(store *state.Store, cfg *config.Config, ds []plan.Decision) {
	watches := cfg.WatchByPath()
	for i, d := range ds {
		if d.Action != plan.Upload && d.Action != plan.Conflict {
			continue
		}
		if reason, ok := intake.Settled(store, watches[d.Watch], d.Path, d.Tileset); ok && !intake.RecipeChanged(store, d) {
			ds[i].Action, ds[i].Reason = plan.Skip, reason
		}
	}
}
