//go:build unix

package state

import (
	"os"
	"strconv"
	"syscall"
)

// FileIdentity returns "device:inode" of the file fi describes (from
// os.Stat or os.Lstat), or "" if fi carries no such information. A file
// renamed within its volume keeps its identity; one rewritten by
// write-to-temp-and-rename gets a new one.
func FileIdentity(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return ""
	}
	return strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(uint64(st.Ino), 10)
}
