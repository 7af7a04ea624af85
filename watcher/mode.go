package watcher

import (
	"runtime"

	"github.com/tilesyncd/tilesyncd/fstype"
)

// decideMode returns the mode in effect for the root and why, for Status,
// and whether the startup scan must open a file before reporting it (see
// visitFile).
func (w *Watcher) decideMode() (mode Mode, why string, openAtStartup bool) {
	info, err := fstype.Detect(w.opts.Root)
	openAtStartup = mustOpenAtStartup(runtime.GOOS, info, err)
	if w.opts.Mode != Auto {
		return w.opts.Mode, "", openAtStartup
	}
	if err != nil {
		w.log.Warn("cannot tell the filesystem; polling", "err", err)
	}
	mode, why = chooseMode(Auto, info, err)
	return mode, why, openAtStartup
}

// chooseMode is the auto-mode decision: poll where notifications cannot be
// trusted (network and FUSE filesystems, or an unknown one), notify elsewhere.
// The reason names the filesystem.
func chooseMode(m Mode, info fstype.Info, detectErr error) (Mode, string) {
	switch {
	case m != Auto && m != "":
		return m, ""
	case detectErr != nil:
		return Poll, "filesystem unknown"
	case info.Remote():
		return Poll, info.Name
	}
	return Notify, info.Name
}

// mustOpenAtStartup tells whether the startup scan opens an old file before
// reporting it: where a writer may hold a file locked without touching it
// (Windows; network and FUSE filesystems; one that cannot be told).
func mustOpenAtStartup(goos string, info fstype.Info, detectErr error) bool {
	return goos == "windows" || detectErr != nil || info.Remote()
}
