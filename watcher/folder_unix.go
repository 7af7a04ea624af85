//go:build unix

package watcher

import (
	"os"

	"golang.org/x/sys/unix"
)

// openNonblock makes opening a named pipe return at once instead of
// waiting for a writer.
const openNonblock = unix.O_NONBLOCK

// setBlocking clears O_NONBLOCK on an opened regular file (which reads
// ignore on most systems, but a descriptor handed on should be plain).
func setBlocking(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
