//go:build !unix && !windows

package watcher

import "time"

// processCPU is not measured here: poll mode then rests by the walk's wall
// time alone.
func processCPU() time.Duration { return 0 }
