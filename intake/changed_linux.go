//go:build linux

package intake

import (
	"io/fs"
	"syscall"
	"time"
)

// changedAt is when the file last changed in any way a person would call a
// change: the later of its modification time and its status change time,
// which a rename or a move into the folder sets (the modification time
// stays the file's own).
func changedAt(fi fs.FileInfo) time.Time {
	t := fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if c := time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)); c.After(t) {
			t = c
		}
	}
	return t
}
