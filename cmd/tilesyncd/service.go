package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/kardianos/service"
	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/packaging"
)

// The service subcommands: install, uninstall, start, stop, restart and
// service-status. They drive the system's service manager (systemd, launchd,
// the Windows service control manager) through kardianos/service, with
// tilesyncd's own unit and plist from package packaging.

// init registers the command. It is long because it holds the commands' help texts.
func init() {
	register(&command{
		name:    "install",
		summary: "install tilesyncd as a service (systemd, launchd, Windows)",
		usage:   "[--config FILE] [--user] [--service-user NAME] [--binary PATH] [--dry-run]",
		help: `Installs tilesyncd as a service that runs 'tilesyncd run --config FILE
--log-format json' at boot and restarts it after a failure. The configuration
is checked first; the service stores absolute paths to this program and to
FILE, so a relative --config is made absolute.

  Linux    a systemd unit, /etc/systemd/system/tilesyncd.service, running as
           the system user tilesyncd (created if missing), hardened
           (read-only file system but its state folder /var/lib/tilesyncd).
           The token goes in /etc/tilesyncd/tilesyncd.env (created, mode 0600).
           With --user: ~/.config/systemd/user/tilesyncd.service, token in
           ~/.config/tilesyncd/tilesyncd.env; 'loginctl enable-linger' keeps
           it running without a login.
  macOS    a LaunchDaemon, /Library/LaunchDaemons/io.github.tilesyncd.plist,
           logs in /Library/Logs/tilesyncd; with --user a LaunchAgent in
           ~/Library/LaunchAgents, logs in ~/Library/Logs/tilesyncd.
  Windows  a service started automatically and restarted after a failure,
           logging to the Event Log. Watch network folders by UNC path: the
           service cannot see mapped drives. See packaging/WINDOWS.md.

The service is not started: run 'tilesyncd start' once the token is in place.
--dry-run prints what would be done and the service file, and changes nothing.
A system service needs root (Administrator); run 'tilesyncd uninstall' before
installing again.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			cfgPath := configFlag(fs)
			userMode := fs.Bool("user", false, "install a service of the current user (systemd --user, LaunchAgent)")
			serviceUser := fs.String("service-user", "", "the account a system service runs as (default: tilesyncd on Linux, root on macOS, LocalSystem on Windows)")
			binary := fs.String("binary", "", "the tilesyncd executable the service runs (default: this one)")
			dryRun := fs.Bool("dry-run", false, "print what would be done, change nothing")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				req, err := newInstallRequest(*cfgPath, *binary, *userMode, *serviceUser, stderr)
				if err != nil {
					return err
				}
				plan, err := planInstall(req)
				if err != nil {
					return err
				}
				if *dryRun {
					plan.print(stdout, true)
					return nil
				}
				if err := checkCanInstall(plan); err != nil {
					return err
				}
				plan.print(stdout, false)
				if err := plan.apply(stdout); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "\nInstalled. Start it with: tilesyncd start%s\n", userFlag(*userMode))
				return nil
			}
		},
	})
	for _, c := range []struct{ name, summary, help string }{
		{"uninstall", "stop and remove the tilesyncd service",
			`Stops the service and removes it: the systemd unit (disabled first), the
launchd plist, or the Windows service. The configuration, the token file, the
state database and the tilesyncd user are kept.`},
		{"start", "start the installed service", `Asks the service manager to start the installed tilesyncd service.`},
		{"stop", "stop the service (gracefully: work in progress is checkpointed)",
			`Asks the service manager to stop the tilesyncd service. The daemon
checkpoints staging in progress and exits within 10 seconds; the work resumes
at the next start.`},
		{"restart", "restart the service", `Asks the service manager to stop and start the tilesyncd service.`},
		{"service-status", "say whether the service is installed and running",
			`Prints whether the tilesyncd service is running, stopped or not installed, as the
service manager sees it. Exit 0 when running, 3 when stopped, 4 when not
installed, 1 when the service manager cannot tell. ('tilesyncd status'
shows what the daemon is doing.)`},
	} {
		register(&command{
			name:    c.name,
			summary: c.summary,
			usage:   "[--user]",
			help:    c.help + "\n\nWith --user, the current user's service (systemd --user, LaunchAgent).",
			setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
				userMode := fs.Bool("user", false, "the current user's service, not the system's")
				return func(args []string, stdout, _ io.Writer) error {
					if len(args) > 0 {
						return usageError{"takes no arguments"}
					}
					return controlService(c.name, *userMode, stdout)
				}
			},
		})
	}
}

func userFlag(userMode bool) string {
	if userMode {
		return " --user"
	}
	return ""
}

// newInstallRequest gathers what install needs: the configuration, loaded
// and checked (a configuration error exits 2), and the absolute paths.
func newInstallRequest(cfgPath, binary string, userMode bool, serviceUser string, stderr io.Writer) (installRequest, error) {
	req := installRequest{goos: runtime.GOOS, serviceUser: serviceUser}
	if userMode {
		req.mode = packaging.User
		if serviceUser != "" {
			return req, usageError{"--service-user is for a system service, not with --user"}
		}
	}
	abs, err := filepath.Abs(cfgPath)
	if err != nil {
		return req, fmt.Errorf("configuration path: %w", err)
	}
	req.config = abs
	if req.cfg, err = loadConfig(abs, config.LoadOptions{}, stderr); err != nil {
		return req, err
	}
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return req, fmt.Errorf("find this program: %w", err)
		}
	}
	if resolved, err := filepath.EvalSymlinks(binary); err == nil {
		binary = resolved
	}
	if req.binary, err = filepath.Abs(binary); err != nil {
		return req, fmt.Errorf("binary path: %w", err)
	}
	if st, err := os.Stat(req.binary); err != nil || st.IsDir() {
		return req, usageError{fmt.Sprintf("--binary %s: not a program file", req.binary)}
	}
	if req.home, err = os.UserHomeDir(); err != nil && userMode {
		return req, fmt.Errorf("home folder: %w", err)
	}
	if u, err := user.Current(); err == nil {
		req.username = u.Username
	}
	return req, nil
}

// checkCanInstall refuses what would fail halfway: a system service without
// root, a Linux without systemd.
func checkCanInstall(plan *installPlan) error {
	if plan.goos == "linux" && service.Platform() != "linux-systemd" {
		return exitError{1, fmt.Sprintf("tilesyncd installs systemd units, and this system's service manager is %s; 'tilesyncd install --dry-run' prints the unit", service.Platform())}
	}
	if plan.goos != "windows" && plan.mode == packaging.System && os.Geteuid() != 0 {
		return exitError{1, "a system service is installed by root: run it with sudo, or install a user service with --user"}
	}
	return nil
}

// controlService runs one of uninstall, start, stop, restart, service-status.
func controlService(action string, userMode bool, stdout io.Writer) error {
	if userMode && runtime.GOOS == "windows" {
		return usageError{"--user: Windows has no per-user services"}
	}
	s, err := service.New(&program{}, &service.Config{
		Name:   serviceName(runtime.GOOS),
		Option: service.KeyValue{"UserService": userMode},
	})
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	switch action {
	case "service-status":
		st, err := s.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			fmt.Fprintln(stdout, "not installed")
			return exitError{code: 4}
		case err != nil:
			return fmt.Errorf("service status: %w", err)
		case st == service.StatusRunning:
			fmt.Fprintln(stdout, "running")
			return nil
		case st == service.StatusStopped:
			fmt.Fprintln(stdout, "stopped")
			return exitError{code: 3}
		}
		fmt.Fprintln(stdout, "unknown")
		return exitError{code: 1}
	case "uninstall":
		_ = s.Stop() // it may not be running
		if err := s.Uninstall(); err != nil {
			return fmt.Errorf("uninstall: %w", err)
		}
		fmt.Fprintln(stdout, "Uninstalled the tilesyncd service. The configuration, the token file and the state are kept.")
		return nil
	}
	if err := service.Control(s, action); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tilesyncd: %s done\n", action)
	return nil
}
