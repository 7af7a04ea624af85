package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// act takes an action (retry, forget, pause, resume) through the running
// daemon's control endpoint, with the same protections as the status
// page's buttons (control/doc.go); when no daemon answers there, it takes
// it on the state file with offline. daemon reports which of the two acted.
func act(cfg *config.Config, path string, req any, offline func(*state.Store) (control.ActionResult, error)) (res control.ActionResult, daemon bool, err error) {
	if cfg.Control.Enabled() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := control.Act(ctx, cfg.Control.Listen, path, req)
		if !errors.Is(err, control.ErrNotRunning) {
			return res, true, err
		}
	}
	store, err := openStateOffline(cfg)
	if err != nil {
		return control.ActionResult{}, false, err
	}
	defer store.Close()
	res, err = offline(store)
	return res, false, err
}

// openStateOffline opens the state database for an action when no daemon
// answers at its control endpoint, explaining what to do when one holds
// the database all the same.
func openStateOffline(cfg *config.Config) (*state.Store, error) {
	if _, err := os.Stat(cfg.State.Path); err != nil {
		return nil, fmt.Errorf("no state database at %s: nothing has been synced with this configuration", cfg.State.Path)
	}
	store, err := state.Open(cfg.State.Path, state.Options{})
	if errors.Is(err, state.ErrLocked) {
		where := "its control endpoint is off (control.listen): turn it on, or stop the daemon first"
		if cfg.Control.Enabled() {
			where = "it does not answer at " + cfg.Control.Listen + " (another configuration's control.listen?): stop it first"
		}
		return nil, fmt.Errorf("a running tilesyncd holds %s, but %s", cfg.State.Path, where)
	}
	return store, err
}

// printSkipped writes why each skipped item was left alone.
func printSkipped(w io.Writer, res control.ActionResult) {
	for _, s := range res.Skipped {
		name := s.Folder
		if s.Source != (state.FileKey{}) {
			name = s.Source.String()
		}
		terminal.Fprintf(w, "%s: %s\n", name, s.Reason)
	}
}
