//go:build !unix

package watcher

import "os"

// readable reports whether the file can be opened for reading (on Windows, a
// file still open for writing without sharing cannot).
func readable(full string) error {
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	return f.Close()
}
