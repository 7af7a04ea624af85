package watcher

import "github.com/tilesyncd/tilesyncd/fstype"

// decideMode returns the mode in effect for the root and why, for Status.
func (w *Watcher) decideMode() (Mode, string) {
	if w.opts.Mode != Auto {
		return w.opts.Mode, ""
	}
	info, err := fstype.Detect(w.opts.Root)
	if err != nil {
		w.log.Warn("cannot tell the filesystem; polling", "err", err)
	}
	return chooseMode(Auto, info, err)
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
