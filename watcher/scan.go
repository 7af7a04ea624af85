package watcher

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

type scanKind int

const (
	scanStartup scanKind = iota // reports every file, Initial
	scanPoll                    // a poll cycle
	scanRescan                  // the periodic or forced rescan
	scanNewDir                  // a folder that just appeared (notify mode): no sweep
)

func (k scanKind) String() string {
	return [...]string{"startup", "poll", "rescan", "new folder"}[k]
}

// scan walks the folder top (a slash-separated relative path, "" for the
// root), adding notification watches in notify mode, and feeds every file to
// the settler. A full scan (top "") then takes every file and folder it did not
// see as removed. Symbolic links to folders are not followed, so a link loop
// cannot hang the walk; links to regular files are (see doc.go).
//
// The walk runs on the loop's goroutine: events wait while it runs (the kernel
// queues notifications meanwhile, and an overflow only causes another scan).
// It stops early when ctx is cancelled, without sweeping.
func (w *Watcher) scan(ctx context.Context, top string, kind scanKind) {
	start := time.Now()
	full := top == ""
	if full {
		w.gen++
		if w.hooks != nil && w.hooks.fullScan != nil {
			w.hooks.fullScan()
		}
	}
	err := w.walkDir(ctx, top, kind)
	if err != nil {
		return // cancelled
	}
	if !full {
		return
	}
	w.ix.sweep(w.gen, w.removed, w.forgetDir)
	end := time.Now()
	w.st.Scans++
	w.st.LastScan, w.st.LastScanDuration = end, end.Sub(start)
	// What polling rests by (nextPoll): the walk's wall time and a fifth
	// more for the garbage collector's work on the walk's garbage, beside
	// it on another core. Not the process's CPU time: that counts whatever
	// else the process does meanwhile (hashing, staging, other watch
	// folders), and polling would then all but stop while the daemon works.
	w.scanCost = w.st.LastScanDuration * 6 / 5
	if kind != scanPoll {
		w.log.Debug("scan done", "kind", kind, "files", w.ix.files, "pending", w.settle.Len(), "duration", end.Sub(start))
	}
}

// walkDir scans the folder rel and, if recursive, the folders below it.
func (w *Watcher) walkDir(ctx context.Context, rel string, kind scanKind) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := w.ix.dir(rel)
	d.gen = w.gen
	full := w.full(rel)
	if w.fsw != nil && !d.watched {
		// Watch before listing: a file created in between is then either
		// listed or notified, never missed.
		w.addWatch(rel, d)
	}
	entries, err := os.ReadDir(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && rel != "" {
			return nil // gone: the sweep or a notification drops it
		}
		// Unreadable (permissions, a network error, the root missing): keep
		// what is known below it rather than report it all removed.
		w.log.Warn("cannot list folder", "path", rel, "err", err)
		w.ix.keepTree(rel, w.gen)
	}
	now := time.Now()
	for _, e := range entries {
		name := e.Name()
		typ := e.Type()
		if typ.IsDir() {
			if !w.opts.Recursive {
				continue
			}
			crel := joinRel(rel, name)
			if _, ign := w.opts.Ignore(crel, true); ign {
				continue
			}
			if err := w.walkDir(ctx, crel, kind); err != nil {
				return err
			}
			continue
		}
		// A file already in the index passed the ignore check when added,
		// and the patterns do not change: skip matching it again.
		if _, known := d.files[name]; !known {
			if _, ign := w.opts.Ignore(joinRel(rel, name), false); ign {
				continue
			}
		}
		var st stat
		var fi fs.FileInfo
		switch {
		case typ.IsRegular():
			fi, err = e.Info()
			if err != nil {
				continue // removed since the listing
			}
			st = stat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		case typ&fs.ModeSymlink != 0:
			st, fi, err = w.statFile(filepath.Join(full, name))
			if err != nil {
				continue // a link to a folder, dangling or looping
			}
		default:
			continue // devices, pipes, sockets
		}
		w.visitFile(d, rel, name, st, fi, now, kind)
	}
	return nil
}

// visitFile records a file seen by a scan and starts or continues its settle
// time unless it is unchanged since it was reported.
func (w *Watcher) visitFile(d *dirRec, dir, name string, st stat, fi fs.FileInfo, now time.Time, kind scanKind) {
	rec, known := d.files[name]
	rec.gen = w.gen
	w.ix.set(d, name, rec)
	if known && rec.reported && rec.size == st.size && rec.mtime == st.mtime {
		return
	}
	rel := joinRel(dir, name)
	initial := kind == scanStartup
	// At startup a file untouched for longer than Settle has settled already
	// (its mtime says so): report it at once. Where a writer may hold a file
	// locked without touching it (Windows, network and FUSE filesystems),
	// only if it can be opened; on a local Unix filesystem opening fails only
	// for want of permission, which the consumer meets when it reads the file
	// and deals with (the syncer tries it again later). Opening each file
	// there was 0.4 s of a restart over 100,000 files.
	if initial && now.Sub(time.Unix(0, st.mtime)) >= w.opts.Settle && !w.settle.Pending(rel) {
		if settleGroup(rel) != "" {
			// A shapefile's part settles with its set, whose other parts
			// the scan may meet later: it is due at once, but held if one
			// of them is still changing.
			w.settle.Observe(rel, st, now.Add(-w.opts.Settle), false, true)
			return
		}
		if !w.openAtStartup || readable(w.full(rel)) == nil {
			w.report(rel, st, fi, true, "")
			return
		}
	}
	w.settle.Observe(rel, st, now, false, initial)
}

// forgetDir is called for each folder dropped from the index.
func (w *Watcher) forgetDir(rel string, d *dirRec) {
	if d.watched {
		d.watched = false
		w.watches--
		if w.fsw != nil {
			// The kernel drops the watch of a deleted folder itself; a folder
			// moved out of the tree keeps its watch until removed here.
			_ = w.fsw.Remove(w.full(rel))
		}
	}
}
