package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path"
	"path/filepath"
	"strings"

	"github.com/kardianos/service"
	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/fstype"
	"github.com/tilesyncd/tilesyncd/packaging"
)

// installRequest is what `tilesyncd install` was asked for and what it
// found out about this machine; planInstall turns it into an installPlan.
type installRequest struct {
	goos        string
	mode        packaging.Mode
	binary      string // absolute
	config      string // absolute
	serviceUser string // --service-user, "" for the platform's default
	home        string // the installing user's home folder (User mode)
	username    string // the installing user's name, for the lingering note
	cfg         *config.Config
}

// installPlan is everything install does, so that --dry-run can print it
// and the real install can do exactly that.
type installPlan struct {
	goos    string
	mode    packaging.Mode
	params  packaging.Params
	file    string          // the service file (none on Windows)
	content []byte          // its content
	windows *service.Config // Windows only
	// createUser is the system account to create when it does not exist.
	createUser string
	envFile    string   // created (mode 0600) when missing: systemd only
	dirs       []string // folders to create (launchd's state and log folders)
	notes      []string // printed after installing
}

const envFileTemplate = `# The environment of the tilesyncd service (mode 0600: the token is secret).
# The Mapbox token, with the scopes uploads:write, uploads:read, uploads:list:
#MAPBOX_ACCESS_TOKEN=
`

// planInstall decides the service file and the steps for req.goos.
func planInstall(req installRequest) (*installPlan, error) {
	plan := &installPlan{goos: req.goos, mode: req.mode}
	p := packaging.Params{
		Mode:      req.mode,
		Binary:    req.binary,
		Config:    req.config,
		Generator: "tilesyncd install",
	}
	for _, w := range req.cfg.Watch {
		p.WatchPaths = append(p.WatchPaths, w.Path)
	}
	var err error
	switch req.goos {
	case "linux":
		if req.mode == packaging.User {
			p.EnvFile = path.Join(req.home, ".config", "tilesyncd", "tilesyncd.env")
			plan.file = path.Join(req.home, ".config", "systemd", "user", packaging.ServiceName+".service")
			who := orUser(req.username)
			plan.notes = append(plan.notes,
				"A user service runs only while "+who+" is logged in. To start it at boot and keep it running after logout:\n"+
					"  sudo loginctl enable-linger "+who)
		} else {
			p.User = req.serviceUser
			if p.User == "" {
				p.User = packaging.DefaultUser
				plan.createUser = packaging.DefaultUser
			}
			p.EnvFile = packaging.DefaultEnvFile
			plan.file = "/etc/systemd/system/" + packaging.ServiceName + ".service"
			if dir := stateFolderOutside(req.cfg); dir != "" {
				p.ReadWritePaths = []string{dir}
			}
			if p.User != "root" {
				plan.notes = append(plan.notes, fmt.Sprintf("The service runs as the user %s, which must be able to read the watched folders:\n  %s",
					p.User, strings.Join(p.WatchPaths, "\n  ")))
			}
		}
		plan.envFile = p.EnvFile
		plan.notes = append(plan.notes, "Put MAPBOX_ACCESS_TOKEN=... in "+p.EnvFile+" (or set mapbox.token_file in the configuration).")
		plan.content, err = packaging.SystemdUnit(p)
	case "darwin":
		if req.mode == packaging.User {
			p.StateDir = path.Join(req.home, "Library", "Application Support", "tilesyncd")
			p.LogDir = path.Join(req.home, "Library", "Logs", "tilesyncd")
			plan.file = path.Join(req.home, "Library", "LaunchAgents", packaging.LaunchdLabel+".plist")
		} else {
			p.User = req.serviceUser
			p.StateDir = "/Library/Application Support/tilesyncd"
			p.LogDir = "/Library/Logs/tilesyncd"
			plan.file = "/Library/LaunchDaemons/" + packaging.LaunchdLabel + ".plist"
		}
		plan.dirs = []string{p.StateDir, p.LogDir}
		plan.notes = append(plan.notes, "Keep the Mapbox token in a file named by mapbox.token_file in the configuration (chmod 600).",
			"Logs: "+path.Join(p.LogDir, "tilesyncd.err.log"))
		plan.content, err = packaging.LaunchdPlist(p)
	case "windows":
		if req.mode == packaging.User {
			return nil, usageError{"--user: Windows has no per-user services; install without --user"}
		}
		p.User = req.serviceUser
		plan.windows, err = packaging.WindowsConfig(p)
		plan.notes = append(plan.notes, mappedDriveWarnings(req)...)
		plan.notes = append(plan.notes, strings.TrimSpace(packaging.WindowsGuidance))
	default:
		return nil, fmt.Errorf("tilesyncd install knows systemd (Linux), launchd (macOS) and Windows services, not %s", req.goos)
	}
	if err != nil {
		return nil, err
	}
	plan.params = p
	return plan, nil
}

// stateFolderOutside is the folder of a state database the configuration
// puts outside the service's StateDirectory, which ProtectSystem=strict
// must then leave writable; "" when it uses the default.
func stateFolderOutside(cfg *config.Config) string {
	if def, err := config.DefaultStateDir(); err == nil && cfg.State.Path == filepath.Join(def, "state.db") {
		return ""
	}
	dir := filepath.Dir(cfg.State.Path)
	if dir == packaging.SystemStateDir || strings.HasPrefix(dir, packaging.SystemStateDir+"/") {
		return ""
	}
	return dir
}

// mappedDriveWarnings names watched folders on network drive letters, which
// a service cannot see. Only on the machine itself: it asks the system.
func mappedDriveWarnings(req installRequest) []string {
	var warnings []string
	for _, w := range req.cfg.Watch {
		if len(w.Path) < 2 || w.Path[1] != ':' {
			continue // a UNC or local path
		}
		if info, err := fstype.Detect(w.Path); err == nil && info.Remote() {
			warnings = append(warnings, fmt.Sprintf("WARNING: the watched folder %s is on a network drive letter, which the service cannot see: use its UNC path (\\\\server\\share\\...) in the configuration.", w.Path))
		}
	}
	return warnings
}

func orUser(name string) string {
	if name == "" {
		return "USER"
	}
	return name
}

// print writes what the plan does, and with the service file's content.
func (plan *installPlan) print(w io.Writer, dryRun bool) {
	if dryRun {
		fmt.Fprintf(w, "Dry run, nothing is changed. Installing tilesyncd as a %s service would:\n", plan.mode)
	} else {
		fmt.Fprintf(w, "Installing tilesyncd as a %s service:\n", plan.mode)
	}
	step := func(format string, args ...any) { fmt.Fprintf(w, "  - "+format+"\n", args...) }
	if plan.createUser != "" {
		step("create the system user %s if it does not exist (no login shell, home %s)", plan.createUser, packaging.SystemStateDir)
	}
	if plan.envFile != "" {
		step("create %s if it does not exist, mode 0600, for the token", plan.envFile)
	}
	for _, d := range plan.dirs {
		step("create the folder %s", d)
	}
	switch plan.goos {
	case "linux":
		user := ""
		if plan.mode == packaging.User {
			user = " --user"
		}
		step("write %s", plan.file)
		step("run systemctl%s enable %s.service and systemctl%s daemon-reload", user, packaging.ServiceName, user)
	case "darwin":
		step("write %s", plan.file)
	case "windows":
		c := plan.windows
		account := c.UserName
		if account == "" {
			account = "LocalSystem"
		}
		step("create the Windows service %s (%s), account %s, started automatically (delayed), restarted 5 s after a failure", c.Name, c.DisplayName, account)
		step("run: %s", windowsCommandLine(c.Executable, c.Arguments))
		step("register the Event Log source %s", c.Name)
	}
	if plan.content != nil {
		fmt.Fprintf(w, "\n%s:\n%s", plan.file, plan.content)
	}
	for _, n := range plan.notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
}

// windowsCommandLine shows a command as the service control manager stores it.
func windowsCommandLine(exe string, args []string) string {
	words := []string{exe}
	words = append(words, args...)
	for i, a := range words {
		if a == "" || strings.ContainsAny(a, " \t\"") {
			words[i] = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
	}
	return strings.Join(words, " ")
}

// apply performs the plan on this machine.
func (plan *installPlan) apply(w io.Writer) error {
	if plan.createUser != "" {
		if err := createSystemUser(plan.createUser, w); err != nil {
			return err
		}
	} else if plan.goos == "linux" && plan.mode == packaging.System {
		if _, err := user.Lookup(plan.params.User); err != nil {
			return fmt.Errorf("the service user %s: %w", plan.params.User, err)
		}
	}
	if plan.envFile != "" {
		dirMode := os.FileMode(0o755) // /etc/tilesyncd
		if plan.mode == packaging.User {
			dirMode = 0o700 // ~/.config/tilesyncd
		}
		if err := createEnvFile(plan.envFile, dirMode); err != nil {
			return err
		}
	}
	for _, d := range plan.dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cfg := plan.windows
	if cfg == nil {
		if strings.Contains(string(plan.content), "{{") {
			// kardianos/service renders the file as a template of its own.
			return fmt.Errorf("a path contains {{, which the service file cannot hold")
		}
		cfg = &service.Config{
			Name:       serviceName(plan.goos),
			Executable: plan.params.Binary,
			Arguments:  packaging.ServiceArgs(plan.params.Config),
			Option: service.KeyValue{
				"UserService":   plan.mode == packaging.User,
				"SystemdScript": string(plan.content),
				"LaunchdConfig": string(plan.content),
			},
		}
	}
	s, err := service.New(&program{}, cfg)
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	if err := s.Install(); err != nil {
		if strings.Contains(err.Error(), "exists") {
			return exitError{1, fmt.Sprintf("%v: tilesyncd is already installed; run 'tilesyncd uninstall' first", err)}
		}
		return fmt.Errorf("install: %w", err)
	}
	return nil
}

// createSystemUser creates the Linux account the service runs as, like the
// packages' preinstall script, unless it exists.
func createSystemUser(name string, w io.Writer) error {
	if _, err := user.Lookup(name); err == nil {
		return nil
	}
	shell := "/usr/sbin/nologin"
	if _, err := os.Stat(shell); err != nil {
		shell = "/sbin/nologin"
	}
	cmd := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
		"--home-dir", packaging.SystemStateDir, "--shell", shell, "--comment", "tilesyncd daemon", name)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("create the user %s: %s: %w", name, strings.TrimSpace(string(out)), err)
	}
	fmt.Fprintf(w, "Created the system user %s.\n", name)
	return nil
}

// createEnvFile creates the token's environment file, mode 0600, unless it
// exists, and its folder with dirMode.
func createEnvFile(name string, dirMode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), dirMode); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(envFileTemplate); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
