package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/packaging"
)

// fakeProgramFile is an executable for --binary.
func fakeProgramFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tilesyncd")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInstallDryRunMakesPathsAbsolute(t *testing.T) {
	bin := fakeProgramFile(t)
	const rel = "../../examples/tilesyncd.yaml"
	abs, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "install", "--config", rel, "--binary", bin, "--dry-run")
	if code != 0 {
		t.Fatalf("install --dry-run: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"Dry run, nothing is changed.",
		"create the system user tilesyncd",
		"create /etc/tilesyncd/tilesyncd.env if it does not exist, mode 0600",
		"write /etc/systemd/system/tilesyncd.service",
		"systemctl enable tilesyncd.service",
		"\nExecStart=" + bin + " run --config " + abs + " --log-format json\n",
		"\nUser=tilesyncd\n",
		"\nRestart=on-failure\n",
		"\nEnvironmentFile=-/etc/tilesyncd/tilesyncd.env\n",
		"must be able to read the watched folders:\n  " + filepath.Join(filepath.Dir(abs), "drop"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("install --dry-run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, rel) {
		t.Errorf("the relative path %s is in the output:\n%s", rel, out)
	}
}

func TestInstallDryRunUser(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	code, out, errOut := runCLI(t, "install", "--config", "../../examples/tilesyncd.yaml", "--binary", fakeProgramFile(t), "--user", "--dry-run")
	if code != 0 {
		t.Fatalf("install --user --dry-run: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"as a user service would:",
		"write " + filepath.Join(home, ".config/systemd/user/tilesyncd.service"),
		"systemctl --user enable",
		"\nWantedBy=default.target\n",
		"EnvironmentFile=-" + filepath.Join(home, ".config/tilesyncd/tilesyncd.env"),
		"loginctl enable-linger",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "create the system user") || strings.Contains(out, "\nUser=") {
		t.Errorf("a user service creates or names a system user:\n%s", out)
	}
}

func TestInstallRefusesBadInvocations(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("mapbox: {username: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"install", "--config", bad, "--dry-run"}, 2, "configuration error"},
		{[]string{"install", "--config", filepath.Join(dir, "missing.yaml"), "--dry-run"}, 2, "configuration error"},
		{[]string{"install", "--config", "../../examples/tilesyncd.yaml", "--binary", filepath.Join(dir, "nothing"), "--dry-run"}, 2, "not a program file"},
		{[]string{"install", "--config", "../../examples/tilesyncd.yaml", "--user", "--service-user", "ana", "--dry-run"}, 2, "--service-user is for a system service"},
		{[]string{"install", "extra"}, 2, "takes no arguments"},
		{[]string{"service-status", "extra"}, 2, "takes no arguments"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

func TestServiceCommandsHaveHelp(t *testing.T) {
	for _, name := range []string{"install", "uninstall", "start", "stop", "restart", "service-status"} {
		code, out, _ := runCLI(t, "help", name)
		if code != 0 || !strings.Contains(out, "Usage: tilesyncd "+name) || len(out) < 150 {
			t.Errorf("help %s: exit %d, %q", name, code, out)
		}
	}
}

func loadExample(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("../../examples/tilesyncd.yaml", config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestInstallPlanLaunchd(t *testing.T) {
	cfg := loadExample(t)
	for _, mode := range []packaging.Mode{packaging.System, packaging.User} {
		plan, err := planInstall(installRequest{goos: "darwin", mode: mode, binary: "/usr/local/bin/tilesyncd",
			config: "/Users/ana/tilesyncd.yaml", home: "/Users/ana", cfg: cfg})
		if err != nil {
			t.Fatal(err)
		}
		want := map[packaging.Mode]string{
			packaging.System: "/Library/LaunchDaemons/io.github.tilesyncd.plist",
			packaging.User:   "/Users/ana/Library/LaunchAgents/io.github.tilesyncd.plist",
		}[mode]
		if plan.file != want {
			t.Errorf("%s: file %s, want %s", mode, plan.file, want)
		}
		for _, s := range []string{"<key>RunAtLoad</key>", "<string>/Users/ana/tilesyncd.yaml</string>", "tilesyncd.err.log"} {
			if !strings.Contains(string(plan.content), s) {
				t.Errorf("%s: plist lacks %q:\n%s", mode, s, plan.content)
			}
		}
		if len(plan.dirs) != 2 {
			t.Errorf("%s: folders to create %q, want the state and log folders", mode, plan.dirs)
		}
	}
}

func TestInstallPlanWindowsService(t *testing.T) {
	cfg := loadExample(t)
	req := installRequest{goos: "windows", binary: `C:\Program Files\tilesyncd\tilesyncd.exe`,
		config: `C:\ProgramData\tilesyncd\tilesyncd.yaml`, serviceUser: `GIS\svc-tiles`, cfg: cfg}
	plan, err := planInstall(req)
	if err != nil {
		t.Fatal(err)
	}
	c := plan.windows
	if c == nil || c.Name != "tilesyncd" || c.Executable != req.binary || c.UserName != req.serviceUser ||
		strings.Join(c.Arguments, " ") != `run --config C:\ProgramData\tilesyncd\tilesyncd.yaml --log-format json` {
		t.Fatalf("Windows service config = %+v", c)
	}
	if c.Option["OnFailure"] != "restart" || c.Option["StartType"] != "automatic" {
		t.Errorf("options = %v", c.Option)
	}
	var out strings.Builder
	plan.print(&out, true)
	for _, want := range []string{`run: "C:\Program Files\tilesyncd\tilesyncd.exe" run --config`, "UNC", "LocalSystem", "Event Log"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the Windows dry run lacks %q:\n%s", want, out.String())
		}
	}
	req.mode = packaging.User
	if _, err := planInstall(req); err == nil || !strings.Contains(err.Error(), "no per-user services") {
		t.Errorf("--user on Windows: %v", err)
	}
	req.mode, req.config = packaging.System, "tilesyncd.yaml"
	if _, err := planInstall(req); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("a relative config on Windows: %v", err)
	}
}

func TestServiceProgramStartStop(t *testing.T) {
	var exited []int
	started := make(chan struct{})
	p := &program{
		run: func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		},
		stopTimeout: time.Minute,
		exit:        func(code int) { exited = append(exited, code) },
		what:        "test daemon",
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := p.Start(nil); err == nil {
		t.Error("a second Start succeeded")
	}
	if err := p.Stop(nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if len(exited) != 0 {
		t.Errorf("the process exited with %v after a requested stop", exited)
	}
}

func TestServiceProgramStopReturnsDaemonError(t *testing.T) {
	boom := errors.New("checkpoint failed")
	p := &program{
		run:         func(ctx context.Context) error { <-ctx.Done(); return boom },
		stopTimeout: time.Minute,
		exit:        func(code int) { t.Errorf("exit(%d) after a requested stop", code) },
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(nil); !errors.Is(err, boom) {
		t.Fatalf("Stop = %v, want %v", err, boom)
	}
}

func TestServiceProgramStopTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p := &program{
			run:         func(context.Context) error { <-release; return nil }, // ignores the cancellation
			stopTimeout: serviceStopTimeout,
			exit:        func(int) {},
			what:        "stuck daemon",
		}
		if err := p.Start(nil); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		err := p.Stop(nil)
		if err == nil || !strings.Contains(err.Error(), "did not stop within 12s") {
			t.Errorf("Stop = %v, want a timeout", err)
		}
		if waited := time.Since(begin); waited != serviceStopTimeout {
			t.Errorf("Stop waited %s, want %s", waited, serviceStopTimeout)
		}
		close(release)
		synctest.Wait()
	})
}

func TestServiceProgramFailureExits(t *testing.T) {
	exited := make(chan int, 1)
	p := &program{
		run:         func(context.Context) error { return errors.New("token rejected") },
		stopTimeout: time.Minute,
		exit:        func(code int) { exited <- code },
		what:        "failing daemon",
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("exit(%d), want exit(1) so that the service manager restarts it", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a daemon that failed on its own did not end the process")
	}
}
