package packaging

import (
	"strings"
)

// SystemdUnit renders tilesyncd's systemd unit: for a system service
// (/etc/systemd/system/tilesyncd.service, or /lib/systemd/system in the
// packages) or, in User mode, a `systemctl --user` unit
// (~/.config/systemd/user/tilesyncd.service).
//
// The system unit starts after network-online.target, restarts on failure
// after 5 s, gives the daemon 15 s to stop, runs as a dedicated user with
// StateDirectory=tilesyncd, reads the token from EnvFile, and is hardened:
// ProtectSystem=strict (nothing writable but the state and runtime folders
// and ReadWritePaths), ProtectHome=yes unless one of the paths lives under
// /home, /root or /run/user (then read-only), no capabilities, a system-call
// filter and only AF_UNIX/AF_INET/AF_INET6 sockets. A user unit cannot
// order itself after network-online.target and gets the hardening a user
// manager applies without user namespaces.
func SystemdUnit(p Params) ([]byte, error) {
	if err := checkPaths(unixAbs, "binary", p.Binary, "config", p.Config, "environment file", p.EnvFile); err != nil {
		return nil, err
	}
	for _, rw := range p.ReadWritePaths {
		if err := checkPaths(unixAbs, "read-write path", rw); err != nil {
			return nil, err
		}
	}
	vals := map[string]string{
		"Generator": orDefault(p.Generator, "tilesyncd"),
		"ExecStart": systemdCommand(append([]string{p.Binary}, ServiceArgs(p.Config)...)),
		"EnvFile":   systemdEscape(p.EnvFile),
	}
	name := "user.service"
	if p.Mode == System {
		name = "system.service"
		user := orDefault(p.User, DefaultUser)
		vals["User"] = user
		vals["Group"] = orDefault(p.Group, user)
		var rw []string
		for _, dir := range p.ReadWritePaths {
			// "-": a folder that does not exist yet does not stop the service.
			rw = append(rw, "-"+systemdQuote(dir))
		}
		vals["ReadWritePaths"] = strings.Join(rw, " ")
		vals["ProtectHome"] = "yes"
		paths := append([]string{p.Binary, p.Config, p.EnvFile}, p.WatchPaths...)
		paths = append(paths, p.ReadWritePaths...)
		if len(p.WatchPaths) == 0 {
			// Unknown watch folders (the packaged unit): they may be in /home.
			vals["ProtectHome"] = "read-only"
		}
		for _, path := range paths {
			if underHome(path) {
				vals["ProtectHome"] = "read-only"
			}
		}
		vals["CapabilityBoundingSet"] = "CapabilityBoundingSet="
		if user == "root" {
			vals["CapabilityBoundingSet"] = "CapabilityBoundingSet=CAP_DAC_READ_SEARCH"
		}
	}
	out, err := expand(templateText(name), vals)
	return []byte(out), err
}

// systemdCommand is a command line for ExecStart=: each word quoted when it
// needs to be, with systemd's % specifiers and $ variables escaped.
func systemdCommand(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = systemdQuote(w)
	}
	return strings.Join(quoted, " ")
}

// systemdQuote quotes one word for a unit file when it holds anything but
// plain path characters, and escapes % and $ in any case.
func systemdQuote(w string) string {
	w = systemdEscape(w)
	plain := w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@+=,-%$") == ""
	if plain {
		return w
	}
	w = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w)
	return `"` + w + `"`
}

// systemdEscape escapes specifiers (%) and variable references ($).
func systemdEscape(s string) string {
	return strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// PackagedUnit is the system unit the .deb and .rpm install as
// /lib/systemd/system/tilesyncd.service (kept in linux/tilesyncd.service):
// the default paths, and ProtectHome=read-only since the watched folders
// are not known when the package is built.
func PackagedUnit() ([]byte, error) {
	return SystemdUnit(Params{
		Mode:      System,
		Binary:    DefaultBinary,
		Config:    DefaultConfig,
		EnvFile:   DefaultEnvFile,
		Generator: "the tilesyncd package",
	})
}
