//go:build !linux

package state

import (
	"io"
	"os"
)

// preload reads the file through once, so that the timed check reads its
// pages from memory and a slow or cold disk is not mistaken for a walk that
// does not end. It returns the file's size.
func preload(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.CopyBuffer(io.Discard, f, make([]byte, 1<<20))
}
