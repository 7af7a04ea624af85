package packaging

import (
	"embed"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

//go:embed templates
var templates embed.FS

func templateText(name string) string {
	b, err := templates.ReadFile("templates/" + name)
	if err != nil {
		panic(err) // the templates are embedded: a missing one is a build mistake
	}
	return string(b)
}

// The names and places shared by the packages, the service files and
// `tilesyncd install`.
const (
	// ServiceName names the systemd unit (tilesyncd.service) and the Windows service.
	ServiceName = "tilesyncd"
	// LaunchdLabel is the launchd job's Label and its plist's file name.
	LaunchdLabel = "io.github.tilesyncd"
	// DefaultUser is the system account the Linux service runs as.
	DefaultUser = "tilesyncd"
	// DefaultBinary, DefaultConfig and DefaultEnvFile are where the .deb and
	// .rpm put the program, its configuration and the token's environment file.
	DefaultBinary  = "/usr/bin/tilesyncd"
	DefaultConfig  = "/etc/tilesyncd/tilesyncd.yaml"
	DefaultEnvFile = "/etc/tilesyncd/tilesyncd.env"
	// SystemStateDir is the systemd StateDirectory of the system service.
	SystemStateDir = "/var/lib/tilesyncd"
)

// Mode says for whom the service runs.
type Mode int

const (
	// System is a service of the whole machine: a systemd system unit, a
	// launchd LaunchDaemon, a Windows service.
	System Mode = iota
	// User is a service of one user: a systemd --user unit or a launchd
	// LaunchAgent. Windows has none.
	User
)

func (m Mode) String() string {
	if m == User {
		return "user"
	}
	return "system"
}

// Params are what a service file is rendered from. Every path is absolute
// (on the target system: C:\… or \\server\share\… for Windows), because a
// service starts in a working folder of the service manager's choosing.
type Params struct {
	Mode Mode
	// Binary is the tilesyncd executable; Config its configuration file.
	Binary string
	Config string
	// User and Group are the account a system service runs as: systemd
	// User=/Group= (Group defaults to User), launchd UserName, the Windows
	// service account. Empty means root/LocalSystem, except for systemd, where
	// it means DefaultUser. Ignored in User mode.
	User  string
	Group string
	// WatchPaths are the watched folders. tilesyncd only reads them, so they
	// need no write access; they decide whether systemd hides /home.
	WatchPaths []string
	// ReadWritePaths are folders the systemd service must write besides its
	// StateDirectory: a state database the configuration puts elsewhere.
	ReadWritePaths []string
	// EnvFile is the systemd EnvironmentFile holding MAPBOX_ACCESS_TOKEN.
	EnvFile string
	// StateDir is launchd's WorkingDirectory (systemd uses StateDirectory=).
	StateDir string
	// LogDir is where launchd writes tilesyncd.out.log and tilesyncd.err.log.
	LogDir string
	// Env holds environment variables for launchd (never the token).
	Env map[string]string
	// Generator is named in the files' header comment ("tilesyncd install").
	Generator string
}

// ServiceArgs are the arguments every service manager starts tilesyncd
// with: the daemon, its configuration, and logs as JSON lines.
func ServiceArgs(configPath string) []string {
	return []string{"run", "--config", configPath, "--log-format", "json"}
}

// checkPaths refuses relative paths and characters no service file can carry.
func checkPaths(isAbs func(string) bool, named ...string) error {
	var errs []error
	for i := 0; i+1 < len(named); i += 2 {
		name, p := named[i], named[i+1]
		switch {
		case p == "":
			errs = append(errs, fmt.Errorf("%s: missing", name))
		case strings.ContainsAny(p, "\x00\r\n"):
			errs = append(errs, fmt.Errorf("%s %q: contains a line break or NUL", name, p))
		case !isAbs(p):
			errs = append(errs, fmt.Errorf("%s %q: not an absolute path", name, p))
		}
	}
	return errors.Join(errs...)
}

// unixAbs is an absolute path on Linux or macOS, whatever the build's OS.
func unixAbs(p string) bool { return path.IsAbs(p) }

// windowsAbs is an absolute path on Windows: a drive (C:\…) or UNC
// (\\server\share\…) path, whatever the build's OS.
func windowsAbs(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return len(p) > 2
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
}

// homeRoots are the folders systemd's ProtectHome= hides.
var homeRoots = []string{"/home", "/root", "/run/user"}

// underHome reports whether p is inside a folder ProtectHome= hides.
func underHome(p string) bool {
	p = filepath.ToSlash(path.Clean(p))
	for _, root := range homeRoots {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return false
}
