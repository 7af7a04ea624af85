package watcher

import (
	"context"
	"errors"
	"os"
	"syscall"

	"github.com/fsnotify/fsnotify"
	"time"
)

// handleNotify applies one notification. Every notification is checked
// against the disk (lstat), so their order and kind matter little: a path that
// exists is observed, one that does not is removed.
func (w *Watcher) handleNotify(ctx context.Context, ev fsnotify.Event) {
	rel, ok := w.relOf(ev.Name)
	if !ok {
		return
	}
	if rel == "" {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			w.log.Warn("watch folder removed or renamed; rescanning", "event", ev.Op.String())
			w.rescanNow = true
		}
		return
	}
	fi, err := os.Lstat(ev.Name)
	if err != nil {
		w.gone(rel)
		return
	}
	isDir := fi.IsDir()
	if _, ign := w.opts.Ignore(rel, isDir); ign {
		return
	}
	if isDir {
		if !w.opts.Recursive {
			return
		}
		d, known := w.ix.dirs[rel]
		if known && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
			// Something was renamed away and another folder took its name.
			w.gone(rel)
			known = false
		}
		if !known || !d.watched {
			// A new folder: watch it and list it at once, so files created
			// before the watch existed are not missed.
			w.scan(ctx, rel, scanNewDir)
		}
		return
	}
	if _, known := w.ix.dirs[rel]; known {
		w.gone(rel) // a folder replaced by a file
	}
	st, _, err := w.statFile(ev.Name)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errNotFile) {
			return // cannot tell: the next scan looks again
		}
		// Gone, or no longer a file to report (a link to a folder or out
		// of the watch folder, a device…): a file reported there is gone.
		w.gone(rel)
		return
	}
	dir, name := splitRel(rel)
	d := w.ix.dir(dir)
	rec, known := d.files[name]
	rec.gen = d.gen
	w.ix.set(d, name, rec)
	touched := ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write)
	if !touched && known && rec.reported && rec.size == st.size && rec.mtime == st.mtime {
		return // a chmod, or a rename over a file with the same content
	}
	w.settle.Observe(rel, st, time.Now(), touched, false)
}

// gone drops rel, a file or a folder, reporting Removed for the files the
// consumer had been told about.
func (w *Watcher) gone(rel string) {
	if _, ok := w.ix.dirs[rel]; ok {
		w.ix.removeTree(rel, w.removed, w.forgetDir)
		return
	}
	if rec, ok := w.ix.remove(rel); ok {
		w.removed(rel, rec)
		return
	}
	w.settle.Forget(rel)
}

// handleNotifyError handles an error from fsnotify: an overflow means events
// were lost, so a full rescan follows at once.
func (w *Watcher) handleNotifyError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.st.Overflows++
		w.log.Warn("file notifications overflowed; rescanning")
		w.rescanNow = true
		return
	}
	w.log.Warn("file notification error", "err", err)
}

// addWatch adds a notification watch on the folder rel. When the system's
// watch limit is reached it switches the whole folder to polling.
func (w *Watcher) addWatch(rel string, d *dirRec) {
	full := w.full(rel)
	var err error
	if w.hooks != nil && w.hooks.addWatchErr != nil {
		err = w.hooks.addWatchErr(full)
	}
	if err == nil {
		err = w.fsw.Add(full)
	}
	switch {
	case err == nil:
		d.watched = true
		w.watches++
	case errors.Is(err, syscall.ENOSPC):
		w.log.Warn("inotify watch limit reached; polling this folder instead. "+
			"Raise the limit with: sysctl fs.inotify.max_user_watches=524288 "+
			"(persist it in /etc/sysctl.d/)", "path", rel, "err", err)
		w.fallBackToPoll("inotify watch limit reached")
	case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
		w.log.Warn("out of file descriptors for watches; polling this folder instead. "+
			"Raise the open-file limit (ulimit -n, kern.maxfiles on macOS)", "path", rel, "err", err)
		w.fallBackToPoll("watch limit reached")
	case errors.Is(err, os.ErrNotExist):
		// Removed since it was listed: the notification or the sweep drops it.
	default:
		w.log.Warn("cannot watch folder; the periodic rescan covers it", "path", rel, "err", err)
	}
}

// fallBackToPoll closes the notifications and polls the whole folder from now
// on, starting with a scan at once.
func (w *Watcher) fallBackToPoll(why string) {
	w.closeNotify()
	w.mode, w.modeWhy = Poll, why
	w.rescanNow = true
}

// closeNotify closes the fsnotify watcher, if open; fsnotify waits for its
// reading goroutine to end.
func (w *Watcher) closeNotify() {
	if w.fsw == nil {
		return
	}
	if err := w.fsw.Close(); err != nil {
		w.log.Debug("closing notifications", "err", err)
	}
	w.fsw = nil
	for _, d := range w.ix.dirs {
		d.watched = false
	}
	w.watches = 0
}
