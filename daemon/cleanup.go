package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/state"
)

// CleanupPace says when the daemon removes old completed upload statuses
// from Mapbox's list (mapbox.cleanup_completed_after).
type CleanupPace struct {
	// Delay is how long after the start the first cleanup begins, so that
	// it never competes with the first scan's work; zero:
	// DefaultCleanupDelay.
	Delay time.Duration
	// Every is how long after one cleanup ends the next begins; zero:
	// DefaultCleanupEvery.
	Every time.Duration
}

// Defaults of CleanupPace.
const (
	DefaultCleanupDelay = 5 * time.Minute
	DefaultCleanupEvery = time.Hour
)

// runCleanup removes, every pace.Every, the statuses of the account's
// uploads that completed without error longer ago than
// mapbox.cleanup_completed_after, except those the state database's jobs
// still need (InUse). Its requests wait at the budget's lowest priority
// (ratelimit.Housekeeping), so a cleanup only takes slots nothing else
// wants. A failed cleanup is logged and tried again at the next one. It
// returns nil at once when the setting is off, and when ctx ends.
func (d *Daemon) runCleanup(ctx context.Context) error {
	after := d.cfg.Mapbox.CleanupCompletedAfter
	if after <= 0 {
		return nil
	}
	pace := d.cleanup
	if pace.Delay <= 0 {
		pace.Delay = DefaultCleanupDelay
	}
	if pace.Every <= 0 {
		pace.Every = DefaultCleanupEvery
	}
	log := d.log.With("component", "cleanup")
	t := time.NewTimer(pace.Delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		d.cleanOnce(ratelimit.Housekeeping(ctx), after, log)
		t.Reset(pace.Every)
	}
}

// cleanOnce is one cleanup, logged.
func (d *Daemon) cleanOnce(ctx context.Context, after time.Duration, log *slog.Logger) {
	jobs, err := d.store.ListJobs(state.JobFilter{})
	if err != nil {
		log.Error("cleanup of Mapbox's upload list skipped: cannot read the jobs", "err", err)
		return
	}
	removed, err := CleanCompleted(ctx, d.client, CleanupOptions{OlderThan: after, InUse: InUse(jobs)})
	deleted, kept := 0, 0
	for _, r := range removed {
		switch {
		case r.Deleted:
			deleted++
			log.Debug("upload status removed from Mapbox's list", "upload_id", r.Upload.ID, "tileset", r.Upload.Tileset,
				"created", r.Upload.Created)
		case r.Kept != "":
			kept++
		}
	}
	switch {
	case ctx.Err() != nil:
		return // stopping
	case err != nil && errors.Is(err, mapbox.ErrUnauthorized), err != nil && errors.Is(err, mapbox.ErrMissingScope):
		log.Error("cleanup of Mapbox's upload list failed; set mapbox.cleanup_completed_after: off, or give the token the scopes it names",
			"deleted", deleted, "err", err)
	case err != nil:
		log.Warn("cleanup of Mapbox's upload list stopped; it goes on at the next one", "deleted", deleted, "err", err)
	case deleted > 0:
		log.Info("cleanup: completed upload statuses removed from Mapbox's list (the tilesets stay)",
			"deleted", deleted, "kept", kept, "older_than", after)
	default:
		log.Debug("cleanup: no upload status to remove from Mapbox's list", "kept", kept, "older_than", after)
	}
}
