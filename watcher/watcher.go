package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Kind is the kind of an Event.
type Kind int

const (
	// Ready: the file has finished arriving (or changed and settled again).
	Ready Kind = iota + 1
	// Removed: the file is gone (deleted, or renamed away). It may come for a
	// path whose Ready the consumer never took, when both were coalesced.
	Removed
	// InitialScanDone: every file that existed when Run started has been
	// reported (Initial set) or has disappeared. Sent once; Rel is empty. A
	// consumer can then treat files it knows of and was not told about as gone.
	InitialScanDone
)

func (k Kind) String() string {
	switch k {
	case Ready:
		return "ready"
	case Removed:
		return "removed"
	case InitialScanDone:
		return "initial-scan-done"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Event is what the watcher reports.
type Event struct {
	Kind Kind
	Root string // the watch folder, absolute
	Rel  string // slash-separated path relative to Root
	// Size and ModTime are the file's when it was found ready (Ready only).
	Size    int64
	ModTime time.Time
	// FileID is Options.FileID of that same stat ("" without it): with
	// Size and ModTime, what a consumer needs to tell an unchanged file
	// without a stat of its own.
	FileID string
	// Initial is set on the Ready events of files found by the startup scan.
	// Those older than Settle on a local Unix filesystem are reported
	// without being opened: the consumer must cope with one it cannot read.
	Initial bool
	// Warning explains a Ready reported early, e.g. "still changing after
	// 10m0s; reported anyway".
	Warning string
}

// Status describes a running watcher, for the status command.
type Status struct {
	Root string
	// Mode is the mode in effect and why: "notify", "notify (ext4)", "poll",
	// "poll (nfs)", "poll (inotify watch limit reached)"…
	Mode             string
	Files            int // files tracked (existing, not ignored)
	Pending          int // files waiting to settle
	Queued           int // events waiting for the consumer
	Watches          int // folders with a notification watch
	Scans            int // full scans done (startup, polls, rescans)
	Overflows        int // notification overflows, each followed by a rescan
	LastScan         time.Time
	LastScanDuration time.Duration
	// PollEvery is, in poll mode, the wait before the next poll cycle:
	// PollInterval, or longer when the last full scan took more than
	// PollMaxShare of that (Options.PollMaxShare). Zero in notify mode.
	PollEvery time.Duration
}

// Watcher reports the files of one watch folder that are ready, and those
// removed. Create it with New, run it with Run and read Events.
type Watcher struct {
	opts Options
	// realRoot is Root with its links resolved, to tell a link that leaves it.
	realRoot string
	log      *slog.Logger
	events   chan Event
	ran      atomic.Bool

	// Owned by Run's goroutine.
	ix      *index
	settle  *settler
	out     *outbox
	gen     uint32
	mode    Mode   // in effect: Notify or Poll
	modeWhy string // for Status
	// openAtStartup: the startup scan opens an old file before reporting
	// it (Windows, network and FUSE filesystems; see visitFile).
	openAtStartup bool
	fsw           *fsnotify.Watcher
	watches       int
	rescanNow     bool          // a full scan is due at once
	startup       bool          // the startup scan has completed
	doneSent      bool          // InitialScanDone queued
	st            Status        // scan figures, copied out under statusMu
	scanCost      time.Duration // of the last full scan: max(wall time, process CPU time)
	pollLogged    time.Duration // the stretched poll interval last logged; 0: none (nextPoll)

	statusMu sync.Mutex
	status   Status

	hooks *testHooks // nil except in tests
}

// testHooks let tests drive the paths real events take.
type testHooks struct {
	errs        chan error             // read like fsnotify's Errors
	pause       chan bool              // true: stop reading fsnotify's Events; false: resume
	addWatchErr func(dir string) error // returns an error instead of adding a watch
	fullScan    func()                 // called as a full scan starts: a test's cost (a fake-clock sleep)
}

// New checks opts and returns a Watcher that does nothing until Run.
func New(opts Options) (*Watcher, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		opts:   o,
		log:    o.Logger.With("component", "watcher", "root", o.Root),
		events: make(chan Event),
		ix:     newIndex(),
		settle: newSettler(o.Settle, o.MaxSettle),
		out:    newOutbox(),
	}
	w.status = Status{Root: o.Root, Mode: "starting"}
	return w, nil
}

// Events returns the channel the watcher reports on. It is unbuffered and
// closed when Run returns.
//
// Backpressure: the watcher never blocks on a slow consumer and never drops an
// event. Events waiting to be taken are kept at most one per path (a newer
// event for a path replaces the waiting one), so memory stays bounded by the
// number of files however slow the consumer is.
func (w *Watcher) Events() <-chan Event { return w.events }

// Status returns a snapshot of the watcher's state. Safe to call at any time.
func (w *Watcher) Status() Status {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	return w.status
}

// Run watches the folder until ctx is cancelled. It first scans the folder and
// reports every existing file (Initial), then InitialScanDone, then changes.
// It returns an error only if the folder cannot be watched at all at start
// (missing, not a folder, or called twice); on cancellation it closes the
// notifications, closes Events and returns nil. Problems met while running
// (unreadable folders, a lost notification, the watch limit) are logged and
// worked around, not returned.
// It is long because it is the watcher's one select loop: its cases share the timers, the queue and the pause.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.ran.CompareAndSwap(false, true) {
		return errors.New("watcher: Run called twice")
	}
	defer close(w.events)
	fi, err := os.Stat(w.opts.Root)
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.opts.Root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("watch %s: not a folder", w.opts.Root)
	}
	if w.realRoot, err = filepath.EvalSymlinks(w.opts.Root); err != nil {
		w.realRoot = w.opts.Root
	}
	w.mode, w.modeWhy, w.openAtStartup = w.decideMode()
	if w.mode == Notify {
		fsw, err := fsnotify.NewWatcher()
		if err != nil {
			w.log.Warn("notifications unavailable; polling instead", "err", err)
			w.mode, w.modeWhy = Poll, "notifications unavailable"
		} else {
			w.fsw = fsw
		}
	}
	defer w.closeNotify()
	w.log.Info("watching", "mode", w.modeString())

	poll, rescan, settleT := stoppedTimer(), stoppedTimer(), stoppedTimer()
	defer poll.Stop()
	defer rescan.Stop()
	defer settleT.Stop()
	var armed time.Time // deadline settleT is set for; zero when stopped

	fullScan := func(kind scanKind) {
		w.scan(ctx, "", kind)
		if w.mode != Poll {
			rescan.Reset(w.opts.RescanInterval)
			return
		}
		// A rescan is a poll cycle too: it waits as long, so that the
		// two together keep within PollMaxShare.
		every := w.nextPoll()
		poll.Reset(every)
		rescan.Reset(max(w.opts.RescanInterval, every))
	}
	fullScan(scanStartup)
	w.startup = true

	var paused bool
	for {
		if ctx.Err() != nil {
			return nil
		}
		if w.rescanNow {
			w.rescanNow = false
			fullScan(scanRescan)
		}
		w.queueInitialDone()
		if next, ok := w.settle.NextDeadline(); !ok {
			if !armed.IsZero() {
				settleT.Stop()
				armed = time.Time{}
			}
		} else if !next.Equal(armed) {
			settleT.Reset(time.Until(next)) // Go 1.23 timers: Reset discards an unreceived tick
			armed = next
		}
		w.publishStatus()

		var out chan<- Event
		next, ok := w.out.peek()
		if ok {
			out = w.events
		}
		var nEvents <-chan fsnotify.Event
		var nErrs <-chan error
		if w.fsw != nil {
			nErrs = w.fsw.Errors
			if !paused {
				nEvents = w.fsw.Events
			}
		}
		var hookErrs <-chan error
		var hookPause <-chan bool
		if w.hooks != nil {
			hookErrs, hookPause = w.hooks.errs, w.hooks.pause
		}

		select {
		case <-ctx.Done():
			return nil
		case out <- next:
			w.out.pop()
		case <-settleT.C:
			armed = time.Time{}
			w.processDue(time.Now())
		case <-poll.C:
			fullScan(scanPoll)
		case <-rescan.C:
			fullScan(scanRescan)
		case ev, ok := <-nEvents:
			if ok {
				w.handleNotify(ctx, ev)
			}
		case err, ok := <-nErrs:
			if ok {
				w.handleNotifyError(err)
			}
		case err := <-hookErrs:
			w.handleNotifyError(err)
		case paused = <-hookPause:
		}
	}
}

// processDue re-checks the files whose settle time has passed and reports
// those still unchanged and readable.
func (w *Watcher) processDue(now time.Time) {
	for _, d := range w.settle.Due(now) {
		st, fi, err := w.statFile(w.full(d.rel))
		switch {
		case errors.Is(err, errNotFile) || errors.Is(err, os.ErrNotExist):
			// Gone or replaced by a folder: the notification or the next scan
			// updates the index.
			w.settle.Forget(d.rel)
			continue
		case err != nil:
			if w.settle.Retry(d.rel, now) == 1 {
				w.log.Warn("cannot stat file; will retry", "path", d.rel, "err", err)
			}
			continue
		}
		if st != d.st && !d.overdue {
			w.settle.Observe(d.rel, st, now, true, false)
			continue
		}
		if err := readable(w.full(d.rel)); err != nil {
			n := w.settle.Retry(d.rel, now)
			if n == 1 {
				w.log.Warn("file settled but cannot be read; will retry", "path", d.rel, "err", err)
			} else {
				w.log.Debug("file still cannot be read", "path", d.rel, "attempts", n, "err", err)
			}
			continue
		}
		var warning string
		switch {
		case d.held:
			warning = fmt.Sprintf("other parts of its shapefile still changing after %s; reported anyway", w.opts.MaxSettle)
			w.log.Warn("shapefile parts keep changing; reported anyway", "path", d.rel, "max_settle", w.opts.MaxSettle)
		case d.overdue:
			warning = fmt.Sprintf("still changing after %s; reported anyway", w.opts.MaxSettle)
			w.log.Warn("file keeps changing; reported anyway", "path", d.rel, "max_settle", w.opts.MaxSettle)
		}
		w.settle.Done(d.rel)
		w.report(d.rel, st, fi, d.initial, warning)
	}
}

// report queues a Ready event for rel and records it as reported.
func (w *Watcher) report(rel string, st stat, fi fs.FileInfo, initial bool, warning string) {
	dir, name := splitRel(rel)
	d := w.ix.dir(dir)
	rec := d.files[name]
	rec.size, rec.mtime, rec.reported = st.size, st.mtime, true
	w.ix.set(d, name, rec)
	w.out.push(rel, Event{
		Kind: Ready, Root: w.opts.Root, Rel: rel,
		Size: st.size, ModTime: time.Unix(0, st.mtime), FileID: w.fileID(fi),
		Initial: initial, Warning: warning,
	})
}

func (w *Watcher) fileID(fi fs.FileInfo) string {
	if w.opts.FileID == nil || fi == nil {
		return ""
	}
	return w.opts.FileID(fi)
}

// removed queues a Removed event for a file that had been reported.
func (w *Watcher) removed(rel string, rec fileRec) {
	w.settle.Forget(rel)
	if rec.reported {
		w.out.push(rel, Event{Kind: Removed, Root: w.opts.Root, Rel: rel})
	}
}

// queueInitialDone queues InitialScanDone once the startup scan is over and
// none of its files is still settling.
func (w *Watcher) queueInitialDone() {
	if w.startup && !w.doneSent && w.settle.InitialLeft() == 0 {
		w.doneSent = true
		w.out.push(markerKey, Event{Kind: InitialScanDone, Root: w.opts.Root})
	}
}

func (w *Watcher) publishStatus() {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	w.status.Mode = w.modeString()
	w.status.Files = w.ix.files
	w.status.Pending = w.settle.Len()
	w.status.Queued = w.out.len()
	w.status.Watches = w.watches
	w.status.Scans = w.st.Scans
	w.status.Overflows = w.st.Overflows
	w.status.LastScan = w.st.LastScan
	w.status.LastScanDuration = w.st.LastScanDuration
	w.status.PollEvery = w.st.PollEvery
}

func (w *Watcher) modeString() string {
	if w.modeWhy == "" {
		return string(w.mode)
	}
	return string(w.mode) + " (" + w.modeWhy + ")"
}

// full turns a slash-separated relative path into an OS path.
func (w *Watcher) full(rel string) string {
	if rel == "" {
		return w.opts.Root
	}
	return filepath.Join(w.opts.Root, filepath.FromSlash(rel))
}

// relOf turns an OS path below the root into a slash-separated relative path.
func (w *Watcher) relOf(name string) (string, bool) {
	rel, err := filepath.Rel(w.opts.Root, name)
	if err != nil || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
		return "", false
	}
	if rel == "." {
		return "", true
	}
	return filepath.ToSlash(rel), true
}

var errNotFile = ErrNotRegular

// statFile returns the size and modification time of the regular file at
// full, and the stat they come from, following a symbolic link to a regular
// file. A link to a folder, a dangling or looping link, a link whose target
// is outside the watch folder (unless FollowLinks) and special files give
// errNotFile.
func (w *Watcher) statFile(full string) (stat, fs.FileInfo, error) {
	fi, err := os.Lstat(full)
	if err != nil {
		return stat{}, nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		fi, err = os.Stat(full)
		if err != nil {
			return stat{}, nil, fmt.Errorf("%w: %w", errNotFile, err)
		}
		if !w.opts.FollowLinks && fi.Mode().IsRegular() {
			if real, err := filepath.EvalSymlinks(full); err != nil {
				return stat{}, nil, fmt.Errorf("%w: %w", errNotFile, err)
			} else if _, in := within(w.realRoot, real); !in {
				return stat{}, nil, fmt.Errorf("%w: %w", errNotFile, ErrLinkLeaves)
			}
		}
	}
	if !fi.Mode().IsRegular() {
		return stat{}, nil, errNotFile
	}
	return stat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, fi, nil
}

// stoppedTimer returns a timer that has not started.
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}
