//go:build windows

package console

import (
	"os"

	"golang.org/x/sys/windows"
)

// IsTerminal reports whether f is a console (not a file, a pipe or NUL).
func IsTerminal(f *os.File) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) == nil
}

// Width is the width in columns of the console f's window, or 0 when f is
// not a console.
func Width(f *os.File) int {
	var info windows.ConsoleScreenBufferInfo
	if windows.GetConsoleScreenBufferInfo(windows.Handle(f.Fd()), &info) != nil {
		return 0
	}
	return int(info.Window.Right-info.Window.Left) + 1
}
