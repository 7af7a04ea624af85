package intake

import (
	"context"
	"errors"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// Run takes the watcher's events until ctx is cancelled, and returns ctx's
// error. An event that fails, on a file that cannot be read or on the state
// database (a full or failing disk), is kept and taken again with a growing
// delay (RetryMin up to RetryMax), never dropped: the watcher does not report
// an unchanged file twice. Files the sender asks for (ReadAgain) are read
// again as if reported. It first removes the spool's zips no job needs and
// mends file records left queued with no job.
func (in *Intake) Run(ctx context.Context, events <-chan watcher.Event) error {
	in.working.Store(true)
	defer in.working.Store(false)
	in.CleanSpool()
	if n, err := in.store.RepairPending(); err != nil {
		return err
	} else if n > 0 {
		in.log.Warn("file records said queued with no job (left by an older tilesyncd); they are read again", "files", n)
	}
	r := retrier{in: in, failed: map[string]watcher.Event{}, timer: time.NewTimer(time.Hour)}
	defer r.timer.Stop()
	// The paths each watch folder's startup scan reported, until it is done.
	scanned, scanDone := map[string]map[string]bool{}, map[string]bool{}
	freed := false // the startup scans' memory given back
	for {
		in.failed.Store(int64(len(r.failed)))
		in.working.Store(false)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			in.working.Store(true)
			if !ok {
				events = nil // the watchers stopped; keep retrying what failed
				continue
			}
			if ev.Kind == watcher.InitialScanDone {
				// Files the state knows in this folder that the startup scan
				// did not report went away while tilesyncd was stopped.
				for _, gone := range in.unseen(ev.Root, scanned[ev.Root]) {
					r.ingest(ctx, gone, false)
				}
				scanned[ev.Root], scanDone[ev.Root] = nil, true
				if len(scanDone) == len(in.cfg.Watch) && !freed {
					// The startup scans' burst is over (the watchers' outboxes,
					// these path sets): give its memory back to the system now
					// rather than as the runtime's scavenger gets to it.
					freed = true
					debug.FreeOSMemory()
				}
				continue
			}
			if !scanDone[ev.Root] {
				if scanned[ev.Root] == nil {
					scanned[ev.Root] = map[string]bool{}
				}
				scanned[ev.Root][ev.Rel] = true
			}
			r.ingest(ctx, ev, false)
		case <-in.again:
			in.working.Store(true)
			in.mu.Lock()
			keys := in.rereads
			in.rereads = nil
			in.mu.Unlock()
			for _, k := range keys {
				if w := in.watchOf(k.Watch); w != nil {
					r.ingest(ctx, watcher.Event{Root: w.Path, Rel: k.Path, Kind: watcher.Ready}, false)
				}
			}
		case <-r.timer.C:
			in.working.Store(true)
			r.retry(ctx)
		}
	}
}

// retrier keeps the events Ingest failed on and takes them again later.
type retrier struct {
	in     *Intake
	failed map[string]watcher.Event // by path: the latest event wins
	delay  time.Duration
	timer  *time.Timer
}

// ingest takes ev; retry says it is a retry of a failed event.
func (r *retrier) ingest(ctx context.Context, ev watcher.Event, retry bool) {
	key := filepath.Join(ev.Root, ev.Rel)
	err := r.in.Ingest(ctx, ev)
	if err == nil {
		delete(r.failed, key)
		return
	}
	if ctx.Err() != nil {
		return
	}
	if len(r.failed) == 0 {
		r.delay = r.in.retryMin
		r.timer.Reset(r.delay)
	}
	_, waiting := r.failed[key]
	again := retry || waiting
	r.failed[key] = ev
	switch {
	case !errors.Is(err, errUnreadable):
		r.in.log.Error("cannot record the file in the state database; trying again later", "path", key, "err", err)
	case !again:
		r.in.log.Warn("cannot read the file; trying again later", "path", key, "err", err)
	default:
		r.in.log.Debug("still cannot read the file", "path", key, "err", err)
	}
}

// retry takes every failed event again, and rearms the timer for those
// that fail again.
func (r *retrier) retry(ctx context.Context) {
	again := r.failed
	r.failed = map[string]watcher.Event{}
	for _, ev := range again {
		r.ingest(ctx, ev, true)
	}
	if len(r.failed) > 0 {
		r.delay = min(2*r.delay, r.in.retryMax)
		r.timer.Reset(r.delay)
		r.in.log.Warn("files waiting to be taken again (unreadable, or the state database failing)", "files", len(r.failed), "retry_in", r.delay)
	}
}

// unseen returns a Removed event for every file the state has a record of
// in the watch folder at root that is not in seen (the paths its startup
// scan reported): a file deleted or moved away while tilesyncd was stopped.
// Its jobs not under way are then dropped, and a conflict is settled again,
// as for a file removed while tilesyncd runs.
func (in *Intake) unseen(root string, seen map[string]bool) []watcher.Event {
	w := in.watchOf(root)
	if w == nil {
		return nil
	}
	var gone []watcher.Event
	err := in.store.Files(w.Path, func(rec state.FileRecord) error {
		if !seen[rec.Key.Path] {
			gone = append(gone, watcher.Event{Kind: watcher.Removed, Root: root, Rel: rec.Key.Path})
		}
		return nil
	})
	if err != nil {
		in.log.Error("cannot read the state's records of the folder; files removed while stopped are forgotten at the next start", "watch", root, "err", err)
		return nil
	}
	if len(gone) > 0 {
		in.log.Info("files removed while tilesyncd was stopped", "watch", root, "files", len(gone))
	}
	return gone
}
