// Package fstype tells what kind of filesystem a path lives on.
//
// tilesyncd needs to know two things about a folder: whether file-change
// notifications can be trusted there (they cannot on network and FUSE
// filesystems, whose changes may come from other machines), and whether a
// bbolt database may live there (it may not on a network filesystem, where
// file locks are unreliable). Detection is per OS: statfs on Linux and macOS,
// the drive type or a UNC path on Windows. When the type cannot be told, Detect
// reports Local with the name "unknown": callers that must be careful (the
// watcher's auto mode) combine it with a periodic rescan anyway.
package fstype

import "fmt"

// Kind is the class of a filesystem, as far as tilesyncd cares.
type Kind int

const (
	// Local is a disk of this machine (ext4, xfs, apfs, NTFS, tmpfs…).
	Local Kind = iota
	// Network is a filesystem served by another machine (NFS, SMB/CIFS, AFP, 9p…).
	Network
	// FUSE is a filesystem in user space (sshfs, rclone, cloud drives…): it may be
	// backed by the network, and its change notifications are not to be trusted.
	FUSE
)

func (k Kind) String() string {
	switch k {
	case Local:
		return "local"
	case Network:
		return "network"
	case FUSE:
		return "fuse"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Info describes the filesystem a path lives on.
type Info struct {
	Kind Kind
	// Name is the filesystem's name as the OS gives it, or as known from its
	// magic number: "ext4", "nfs", "smb2", "fuse", "apfs", "remote"…
	Name string
}

// Remote reports whether changes may come from another machine, so that
// file-change notifications cannot be relied on and file locks are unsafe.
func (i Info) Remote() bool { return i.Kind != Local }

func (i Info) String() string { return i.Name + " (" + i.Kind.String() + ")" }

// Detect returns the filesystem of path, which must exist.
func Detect(path string) (Info, error) {
	info, err := detect(path)
	if err != nil {
		return Info{}, fmt.Errorf("detect filesystem of %s: %w", path, err)
	}
	return info, nil
}
