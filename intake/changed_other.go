//go:build !linux && !darwin

package intake

import (
	"io/fs"
	"time"
)

// statusChange: Go's stat gives no change time here.
func statusChange(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }
