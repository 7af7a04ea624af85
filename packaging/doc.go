// Package packaging holds tilesyncd's service files and package recipe: the
// systemd unit (system and --user), the launchd plist (LaunchDaemon and
// LaunchAgent), the Windows service configuration for kardianos/service,
// and, outside the Go code, the nfpm recipe for the .deb and .rpm
// (nfpm.yaml, linux/).
//
// The templates are embedded (templates/) and rendered from Params by
// SystemdUnit, LaunchdPlist and WindowsConfig. `tilesyncd install` renders
// them with this machine's absolute paths and hands the finished text to
// kardianos/service as its SystemdScript or LaunchdConfig option, so the file
// the service manager reads is exactly the one the tests verify. The packages
// ship PackagedUnit's rendering, kept in linux/tilesyncd.service and checked
// against the template by a test (go test -run PackagedUnit -update rewrites it).
//
// Rendering is a line-oriented {{Key}} substitution, not text/template (see
// expand). Every path must be absolute: a service starts in a folder of the
// manager's choosing (System32 on Windows).
//
// Caveats: the systemd hardening (ProtectSystem=strict, a system-call filter,
// no capabilities) is checked by systemd-analyze verify, not by running the
// service, since the test machines have no systemd; a watched folder must be
// readable by the service's user; a state database outside StateDirectory
// must be named in ReadWritePaths. The launchd and Windows files are checked
// by parsing what is rendered, not on macOS or Windows.
package packaging
