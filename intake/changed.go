package intake

import (
	"io/fs"
	"time"
)

// changedAt is when the file last changed in any way a person would call a
// change: the later of its modification time and, where the system gives it
// (statusChange), its status change time, which a rename or a move into the
// folder sets (the modification time stays the file's own). Elsewhere a
// move keeps the file's own time.
func changedAt(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if c, ok := statusChange(fi); ok && c.After(t) {
		t = c
	}
	return t
}
