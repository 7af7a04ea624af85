package config

import (
	"os"
	"path/filepath"
	"runtime"
)

// DefaultStateDir is where the state database lives when the configuration
// does not say: the folder systemd gives the service ($STATE_DIRECTORY), else
// /var/lib/tilesyncd for root on Linux, else the user's state folder
// ($XDG_STATE_HOME or ~/.local/state on Linux, ~/Library/Application Support
// on macOS, %LocalAppData% on Windows), with a tilesyncd folder inside.
func DefaultStateDir() (string, error) {
	if dir := os.Getenv("STATE_DIRECTORY"); dir != "" {
		return filepath.SplitList(dir)[0], nil
	}
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		if os.Geteuid() == 0 {
			return "/var/lib/tilesyncd", nil
		}
		if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
			return filepath.Join(dir, "tilesyncd"), nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".local", "state", "tilesyncd"), nil
	}
	dir, err := os.UserConfigDir() // ~/Library/Application Support, %AppData%
	if runtime.GOOS == "windows" {
		if local := os.Getenv("LocalAppData"); local != "" {
			dir, err = local, nil
		}
	}
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "tilesyncd"), nil
}
