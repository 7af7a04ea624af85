package fstype

import (
	"strings"

	"golang.org/x/sys/unix"
)

func detect(path string) (Info, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Info{}, err
	}
	name := unix.ByteSliceToString(st.Fstypename[:])
	return FromName(name), nil
}

// FromName classifies a macOS f_fstypename.
func FromName(name string) Info {
	switch {
	case name == "nfs", name == "smbfs", name == "afpfs", name == "webdav", name == "cifs", name == "ftp":
		return Info{Network, name}
	case strings.Contains(name, "fuse"):
		return Info{FUSE, name}
	}
	return Info{Local, name}
}
