//go:build windows

package state

import (
	"os"
	"strconv"

	"golang.org/x/sys/windows"
)

// FileIdentity returns "" on Windows: os.FileInfo from os.Stat carries no
// file index there. Use FileIdentityOf(path), which opens the file.
func FileIdentity(fi os.FileInfo) string { return "" }

// FileIdentityOf returns "volume-serial:file-index" of the file at path.
func FileIdentityOf(path string) (string, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	h, err := windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer windows.CloseHandle(h)
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return "", &os.PathError{Op: "stat", Path: path, Err: err}
	}
	index := uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow)
	return strconv.FormatUint(uint64(info.VolumeSerialNumber), 10) + ":" + strconv.FormatUint(index, 10), nil
}
