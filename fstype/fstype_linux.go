package fstype

import "golang.org/x/sys/unix"

func detect(path string) (Info, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Info{}, err
	}
	return FromMagic(int64(st.Type)), nil
}

// Linux filesystem magic numbers (statfs(2), linux/magic.h) of the filesystems
// that matter to tilesyncd. Anything not listed is taken as local.
var magics = map[int64]Info{
	0x6969:     {Network, "nfs"},
	0x517b:     {Network, "smb"},
	0xff534d42: {Network, "cifs"},
	0xfe534d42: {Network, "smb2"},
	0x564c:     {Network, "ncp"},
	0x01021997: {Network, "9p"},
	0x00c36400: {Network, "ceph"},
	0x5346414f: {Network, "afs"},
	0x6b414653: {Network, "kafs"},
	0x73757245: {Network, "coda"},
	0x47504653: {Network, "gpfs"},
	0x0bd00bd0: {Network, "lustre"},
	0x65735546: {FUSE, "fuse"},
	0x65735543: {FUSE, "fusectl"},
	0xef53:     {Local, "ext4"},
	0x58465342: {Local, "xfs"},
	0x9123683e: {Local, "btrfs"},
	0x01021994: {Local, "tmpfs"},
	0x794c7630: {Local, "overlayfs"},
	0x2fc12fc1: {Local, "zfs"},
	0xf2f52010: {Local, "f2fs"},
	0x4d44:     {Local, "vfat"},
	0x5346544e: {Local, "ntfs"},
	0x2011bab0: {Local, "exfat"},
}

// FromMagic classifies a Linux statfs f_type value.
func FromMagic(magic int64) Info {
	if info, ok := magics[magic&0xffffffff]; ok {
		return info
	}
	return Info{Local, "unknown"}
}
