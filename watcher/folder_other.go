//go:build !unix

package watcher

import "os"

// openNonblock: opening a file does not wait for a writer here (a Windows
// named pipe lives in its own namespace, not in a watch folder).
const openNonblock = 0

func setBlocking(*os.File) error { return nil }
