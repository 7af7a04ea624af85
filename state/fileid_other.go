//go:build !unix && !windows

package state

import "os"

// FileIdentity returns "": this OS gives no file identity tilesyncd knows of.
func FileIdentity(fi os.FileInfo) string { return "" }
