package intake

import (
	"context"
	"path/filepath"

	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// Sync takes every file of the watch folders, as the daemon's startup scan
// does, but cheaper (sync --once): each folder's state records are read in
// one transaction and each file is stated once, by the walk, so a sync over
// 100,000 unchanged files reads none of them and does little more than walk
// the tree. Files that map to the same tileset are each decided alone, as the
// daemon decides them (the later queued replaces the earlier), and are
// logged as a conflict. Files the state knows that the walk did not meet
// were deleted or moved away since the last sync: they are forgotten, their
// jobs not under way dropped, as when the daemon sees them go.
func (in *Intake) Sync(ctx context.Context) error {
	records := map[string]map[string]state.FileRecord{}
	for _, w := range in.cfg.Watch {
		recs := map[string]state.FileRecord{}
		if err := in.store.Files(w.Path, func(r state.FileRecord) error { recs[r.Key.Path] = r; return nil }); err != nil {
			return err
		}
		records[w.Path] = recs
	}
	var conflicts plan.Conflicts
	err := plan.Scan(in.cfg, func(dec plan.Decision) error {
		rec, known := records[dec.Watch][dec.Path]
		delete(records[dec.Watch], dec.Path) // seen: what is left went away
		if dec.Action == plan.Ignored {
			return nil
		}
		if dec.Info == nil {
			if dec.Action == plan.Refused {
				in.log.Warn("cannot read; it will be tried again at the next sync", "path", filepath.Join(dec.Watch, dec.Path), "reason", dec.Reason)
			}
			return nil
		}
		conflicts.Add(dec)
		return in.IngestScanned(ctx, in.watchOf(dec.Watch), dec, rec, known)
	})
	if err == nil {
		for watch, gone := range records {
			for path := range gone {
				if err := in.Ingest(ctx, watcher.Event{Kind: watcher.Removed, Root: watch, Rel: path}); err != nil {
					return err
				}
			}
		}
	}
	conflicts.Each(func(tileset string, files []plan.Decision) {
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = filepath.Join(f.Watch, filepath.FromSlash(f.Path))
		}
		in.log.Warn("conflict: two files map to one tileset, which holds whichever was uploaded last; give them different tilesets in the rules (see tilesyncd plan)",
			"tileset", tileset, "paths", paths)
	})
	return err
}
