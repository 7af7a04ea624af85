//go:build !linux && !darwin

package intake

import (
	"io/fs"
	"time"
)

// changedAt is the file's modification time: Go's stat gives no change
// time here, so a move keeps the file's own time.
func changedAt(fi fs.FileInfo) time.Time { return fi.ModTime() }
