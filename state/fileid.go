//go:build !windows

package state

import "os"

// FileIdentityOf returns the identity of the file at path (see FileIdentity),
// "" where the OS gives none.
func FileIdentityOf(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return FileIdentity(fi), nil
}
