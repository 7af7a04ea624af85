//go:build linux

package intake

import (
	"io/fs"
	"syscall"
	"time"
)

// statusChange is the file's status change time (ctime).
func statusChange(fi fs.FileInfo) (time.Time, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)), true
}
