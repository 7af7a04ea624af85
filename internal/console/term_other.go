//go:build !unix && !windows

package console

import "os"

// IsTerminal reports false: this system's terminals are not known.
func IsTerminal(*os.File) bool { return false }

// Width reports 0: this system's terminals are not known.
func Width(*os.File) int { return 0 }
