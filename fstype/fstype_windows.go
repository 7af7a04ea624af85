package fstype

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

func detect(path string) (Info, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Info{}, err
	}
	if strings.HasPrefix(abs, `\\`) && !strings.HasPrefix(abs, `\\?\`) {
		return Info{Network, "unc"}, nil
	}
	root := filepath.VolumeName(abs) + `\`
	p, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return Info{}, err
	}
	if windows.GetDriveType(p) == windows.DRIVE_REMOTE {
		return Info{Network, "remote"}, nil
	}
	return Info{Local, "local"}, nil
}
