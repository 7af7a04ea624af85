//go:build !unix && !windows

package intake

// freeSpace cannot be told here: the zip is attempted.
func freeSpace(string) (int64, bool) { return 0, false }
