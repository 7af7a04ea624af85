package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDeb runs `make package` (into a temporary folder) and checks the
// .deb: its files, its maintainer scripts, its conffiles, and lintian when it
// is installed. It builds tilesyncd and runs nfpm from the module proxy: about
// a minute the first time.
// It is long because it checks the package's parts in order.
func TestPackageDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the packages with make and nfpm (a minute): not with -short")
	}
	for _, tool := range []string{"make", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: cannot build or read the .deb", tool)
		}
	}
	dist := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "package", "DIST="+dist, "PKG_BIN="+filepath.Join(dist, "bin", "tilesyncd"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "tilesyncd_*_amd64.deb"))
	rpms, _ := filepath.Glob(filepath.Join(dist, "tilesyncd-*.x86_64.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("make package made debs %q and rpms %q, want one of each", debs, rpms)
	}
	deb := debs[0]

	contents := run(t, "dpkg-deb", "-c", deb)
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/bin/tilesyncd\n",
		"-rw-r--r-- root/root .* ./etc/tilesyncd/tilesyncd.yaml\n",
		"-rw-r--r-- root/root .* ./lib/systemd/system/tilesyncd.service\n",
		".* ./usr/share/doc/tilesyncd/copyright\n",
		".* ./usr/share/doc/tilesyncd/changelog.Debian.gz\n",
		".* ./usr/share/lintian/overrides/tilesyncd\n",
	} {
		if !matchLine(contents, want) {
			t.Errorf("dpkg-deb -c lacks %q:\n%s", want, contents)
		}
	}

	info := run(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{"preinst", "postinst", "prerm", "postrm", "conffiles", "Package: tilesyncd", "Depends: passwd"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}

	control := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, control)
	conffiles, err := os.ReadFile(filepath.Join(control, "conffiles"))
	if err != nil || strings.TrimSpace(string(conffiles)) != "/etc/tilesyncd/tilesyncd.yaml" {
		t.Errorf("conffiles = %q, %v; want /etc/tilesyncd/tilesyncd.yaml", conffiles, err)
	}
	for script, want := range map[string][]string{
		"preinst":  {"useradd --system", "--home-dir /var/lib/tilesyncd", "nologin"},
		"postinst": {"/etc/tilesyncd/tilesyncd.env", "chmod 0600", "daemon-reload", "[ -d /run/systemd/system ]"},
		"prerm":    {"stop tilesyncd.service"},
		"postrm":   {"purge"},
	} {
		data, err := os.ReadFile(filepath.Join(control, script))
		if err != nil {
			t.Errorf("%s: %v", script, err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s lacks %q", script, w)
			}
		}
	}

	// The unit in the package is the one the tests verify.
	unit := run(t, "dpkg-deb", "--fsys-tarfile", deb)
	golden, err := os.ReadFile("linux/tilesyncd.service")
	if err != nil || !strings.Contains(unit, string(golden)) {
		t.Errorf("the packaged unit is not linux/tilesyncd.service (%v)", err)
	}

	if _, err := exec.LookPath("lintian"); err != nil {
		t.Log("lintian is not installed: not run (apt-get install -y lintian)")
		return
	}
	out, _ := exec.Command("lintian", "--pedantic", deb).CombinedOutput() // exits 1 on errors, 2 on its own failure
	t.Logf("lintian:\n%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E:") {
			t.Errorf("lintian: %s", line)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}

// matchLine reports whether a line of text matches pattern, where ".*" in
// the pattern stands for anything.
func matchLine(text, pattern string) bool {
	parts := strings.Split(pattern, ".*")
	for _, line := range strings.SplitAfter(text, "\n") {
		rest, ok := line, true
		for i, p := range parts {
			j := strings.Index(rest, p)
			if j < 0 || (i == 0 && j != 0) {
				ok = false
				break
			}
			rest = rest[j+len(p):]
		}
		if ok && rest == "" {
			return true
		}
	}
	return false
}
