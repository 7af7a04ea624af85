package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/state"
)

func init() {
	register(&command{
		name:    "status",
		summary: "show what tilesyncd is doing: queue, transfers, failures, rate budget, watch modes",
		usage:   "[--config FILE] [--json] [--limit N]",
		help: `Asks the running daemon (at control.listen in the configuration) and prints
what is queued, what is in flight (staging progress, Mapbox's processing
progress), what was done recently, what failed and why, the files Mapbox
cannot take, the API rate budget, the cap on staging's bandwidth in force
(mapbox.bandwidth_limit), each watch folder's mode in effect, and the folders
paused ('tilesyncd pause').

When no daemon answers, it reads the state database instead (read-only) and
says so: "daemon not running; from the state file". That view has no
transfers, budget or watch modes, which only a running daemon knows.

With --json it prints the control endpoint's /status document (the state file's
part alone when no daemon runs; its "source" field says which).
Exit 0; 1 when the daemon reports a problem (Mapbox refuses the token, or work
is stalled) or cannot be read; 2 on a configuration or usage error.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			asJSON := fs.Bool("json", false, "print the status as JSON")
			limit := fs.Int("limit", control.DefaultStatusLimit, "how many queued jobs and recent outcomes to list")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				if *limit < 0 || *limit > 10000 {
					return usageError{"--limit must be from 0 to 10000"}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{}, stderr)
				if err != nil {
					return err
				}
				st, err := readStatus(cfg, *limit)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					if err := enc.Encode(st); err != nil {
						return err
					}
				} else {
					printStatus(stdout, st, time.Now())
				}
				if problem := statusProblem(st); problem != "" {
					return exitError{code: 1, msg: problem}
				}
				return nil
			}
		},
	})
}

// readStatus asks the daemon, or reads the state file when none answers.
func readStatus(cfg *config.Config, limit int) (control.Status, error) {
	if cfg.Control.Enabled() {
		st, err := askDaemon(cfg.Control.Listen, limit)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, control.ErrNotRunning) {
			return control.Status{}, err
		}
	}
	if _, err := os.Stat(cfg.State.Path); errors.Is(err, fs.ErrNotExist) {
		return control.Status{Source: control.SourceStateFile, State: state.Snapshot{Path: cfg.State.Path}}, nil
	}
	store, err := state.Open(cfg.State.Path, state.Options{ReadOnly: true, LockTimeout: time.Second})
	if errors.Is(err, state.ErrLocked) {
		where := "its control endpoint is off (control.listen)"
		if cfg.Control.Enabled() {
			where = "it does not answer at " + cfg.Control.Listen + " (another configuration's control.listen?)"
		}
		return control.Status{}, fmt.Errorf("a tilesyncd holds %s, but %s", cfg.State.Path, where)
	}
	if err != nil {
		return control.Status{}, err
	}
	defer store.Close()
	return control.StatusFromStore(store, limit)
}

func askDaemon(addr string, limit int) (control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/status?limit=%d", control.BaseURL, limit), nil)
	if err != nil {
		return control.Status{}, err
	}
	resp, err := control.NewHTTPClient(addr).Do(req)
	if err != nil {
		return control.Status{}, fmt.Errorf("ask the daemon: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return control.Status{}, fmt.Errorf("ask the daemon at %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return control.Status{}, fmt.Errorf("the daemon at %s answered %s: %s", addr, resp.Status, strings.TrimSpace(string(body)))
	}
	var st control.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return control.Status{}, fmt.Errorf("the daemon at %s: read its status: %w", addr, err)
	}
	return st, nil
}

// statusProblem is what makes `status` exit 1, or "".
func statusProblem(st control.Status) string {
	switch {
	case st.AuthError != "":
		return "Mapbox refuses the token: " + st.AuthError
	case st.Health != nil && !st.Health.OK:
		return st.Health.Reason
	}
	return ""
}
