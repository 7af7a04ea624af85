package packaging

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite linux/tilesyncd.service from the template")

// fakeBinary is an executable file for ExecStart=: systemd-analyze verify
// checks that the command exists.
func fakeBinary(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "tilesync d", "tilesyncd") // a space, to check the quoting
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// verifyUnit runs systemd-analyze verify on a rendered unit and fails on any
// output: verify exits 0 on some problems it prints.
func verifyUnit(t *testing.T, unit []byte, user bool) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: cannot verify the unit (apt-get install systemd)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, ServiceName+".service")
	if err := os.WriteFile(file, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", file}
	cmd := exec.Command(analyze, args...)
	if user {
		// A user manager needs a runtime folder, even just to verify.
		rt := filepath.Join(dir, "runtime")
		if err := os.Mkdir(rt, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(analyze, append([]string{"--user"}, args...)...)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+rt)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze %s: %v\n%s\nunit:\n%s", strings.Join(cmd.Args[1:], " "), err, out, unit)
	}
}

func TestSystemdUnitSystemVerifies(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBinary(t, dir)
	unit, err := SystemdUnit(Params{
		Mode:           System,
		Binary:         bin,
		Config:         "/etc/tilesyncd/tiles 100%.yaml",
		EnvFile:        DefaultEnvFile,
		WatchPaths:     []string{"/srv/tiles/drop", "/mnt/nas/$share"},
		ReadWritePaths: []string{"/srv/tilesyncd state"},
		Generator:      "the test",
	})
	if err != nil {
		t.Fatal(err)
	}
	verifyUnit(t, unit, false)
	for _, want := range []string{
		"After=network-online.target\n",
		"Wants=network-online.target\n",
		"User=tilesyncd\n",
		"Group=tilesyncd\n",
		`ExecStart="` + bin + `" run --config "/etc/tilesyncd/tiles 100%%.yaml" --log-format json` + "\n",
		"Restart=on-failure\n",
		"RestartSec=5s\n",
		"TimeoutStopSec=15\n",
		"StateDirectory=tilesyncd\n",
		"EnvironmentFile=-/etc/tilesyncd/tilesyncd.env\n",
		"NoNewPrivileges=yes\n",
		"ProtectSystem=strict\n",
		`ReadWritePaths=-"/srv/tilesyncd state"` + "\n",
		"ProtectHome=yes\n",
		"PrivateTmp=yes\n",
		"ProtectKernelTunables=yes\n",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n",
		"LockPersonality=yes\n",
		"CapabilityBoundingSet=\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
}

func TestSystemdUnitProtectHome(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      Params
		want   string
		absent string
	}{
		{"watch under /home", Params{WatchPaths: []string{"/home/ana/drop"}}, "ProtectHome=read-only\n", ""},
		{"watch elsewhere", Params{WatchPaths: []string{"/srv/drop"}}, "ProtectHome=yes\n", "ReadWritePaths="},
		{"binary under /root", Params{Binary: "/root/go/bin/tilesyncd", WatchPaths: []string{"/srv/drop"}}, "ProtectHome=read-only\n", ""},
		{"watch folders unknown", Params{}, "ProtectHome=read-only\n", ""},
		{"root user", Params{User: "root", WatchPaths: []string{"/srv/drop"}}, "CapabilityBoundingSet=CAP_DAC_READ_SEARCH\n", "User=tilesyncd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.Binary = orDefault(p.Binary, DefaultBinary)
			p.Config, p.EnvFile = DefaultConfig, DefaultEnvFile
			unit, err := SystemdUnit(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(unit), tc.want) {
				t.Errorf("unit lacks %q:\n%s", tc.want, unit)
			}
			if tc.absent != "" && strings.Contains(string(unit), tc.absent) {
				t.Errorf("unit has %q:\n%s", tc.absent, unit)
			}
		})
	}
}

func TestSystemdUnitUserVerifies(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBinary(t, dir)
	unit, err := SystemdUnit(Params{
		Mode:    User,
		Binary:  bin,
		Config:  filepath.Join(dir, "tilesyncd.yaml"),
		EnvFile: filepath.Join(dir, ".config", "tilesyncd", "tilesyncd.env"),
		User:    "ignored-in-user-mode",
	})
	if err != nil {
		t.Fatal(err)
	}
	verifyUnit(t, unit, true)
	for _, want := range []string{"WantedBy=default.target\n", "Restart=on-failure\n", "StateDirectory=tilesyncd\n", "loginctl enable-linger"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("user unit lacks %q:\n%s", want, unit)
		}
	}
	for _, absent := range []string{"User=", "network-online.target\n", "ProtectSystem"} {
		if strings.Contains(string(unit), absent) {
			t.Errorf("user unit has %q:\n%s", absent, unit)
		}
	}
}

func TestSystemdUnitRefusesRelativePaths(t *testing.T) {
	_, err := SystemdUnit(Params{Binary: "tilesyncd", Config: "conf.yaml", EnvFile: DefaultEnvFile})
	if err == nil || !strings.Contains(err.Error(), `binary "tilesyncd": not an absolute path`) ||
		!strings.Contains(err.Error(), `config "conf.yaml": not an absolute path`) {
		t.Fatalf("err = %v, want both relative paths named", err)
	}
}

// TestPackagedUnit keeps linux/tilesyncd.service, the unit the .deb and .rpm
// ship, equal to the template's rendering (go test -run PackagedUnit -update
// rewrites it) and checks it verifies.
func TestPackagedUnit(t *testing.T) {
	unit, err := PackagedUnit()
	if err != nil {
		t.Fatal(err)
	}
	const golden = "linux/tilesyncd.service"
	if *update {
		if err := os.WriteFile(golden, unit, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, unit) {
		t.Fatalf("%s is not the template's rendering: run go test ./packaging -run PackagedUnit -update\nwant:\n%s", golden, unit)
	}
	// Verify it with a real file in place of /usr/bin/tilesyncd.
	bin := fakeBinary(t, t.TempDir())
	verifyUnit(t, bytes.ReplaceAll(unit, []byte(DefaultBinary+" "), []byte(systemdQuote(bin)+" ")), false)
}

func TestUnitTemplateExpand(t *testing.T) {
	for _, tc := range []struct{ tmpl, want, err string }{
		{"a={{A}}\nb={{B}}\nc\n", "a=1\nc\n", ""},
		{"{{A}} and {{B}}\n", "1 and \n", ""},
		{"x={{C}}\n", "", `unknown key "C"`},
		{"x={{A\n", "", "unclosed"},
		{"no newline {{A}}", "no newline 1", ""},
	} {
		got, err := expand(tc.tmpl, map[string]string{"A": "1", "B": ""})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("expand(%q) error = %v, want %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}
