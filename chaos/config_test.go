package chaos

import (
	"errors"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMalformedConfig: the real binary refuses to start on a broken
// configuration, exits 2 and names the line.
func TestMalformedConfig(t *testing.T) {
	e := newEnv(t, envOptions{})
	good, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	// Line 6 becomes a setting that does not exist.
	lines := strings.Split(string(good), "\n")
	lines[5] = "  requests_per_minuet: 30"
	e.WriteConfig(strings.Join(lines, "\n"))
	cmd := exec.Command(testenv.Binary(t), "run", "--config", e.ConfigPath)
	cmd.Env = append(os.Environ(), "MAPBOX_ACCESS_TOKEN="+testenv.Token)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("tilesyncd run on a malformed config: %v, want exit status 2\n%s", err, out)
	}
	if !strings.Contains(string(out), "config.yaml:6") {
		t.Errorf("the message does not name config.yaml:6:\n%s", out)
	}
	if strings.Contains(string(out), testenv.Token) {
		t.Errorf("the token appears in the output")
	}
	if len(e.Srv.Requests()) != 0 {
		t.Errorf("%d API requests from a daemon that refused to start", len(e.Srv.Requests()))
	}
	e.report("malformed config (exit 2)", e.tally())
}

// TestConfigEditedToInvalid: while running, the configuration is replaced
// by an invalid one and the daemon told to reload: it keeps running on the
// last good configuration, says why it refused the new one, and keeps
// syncing.
func TestConfigEditedToInvalid(t *testing.T) {
	help, _ := exec.Command(testenv.Binary(t), "help", "run").CombinedOutput()
	if !strings.Contains(strings.ToLower(string(help)), "reload") && !strings.Contains(string(help), "SIGHUP") {
		t.Skip("configuration reload is not in this build yet (`tilesyncd help run` mentions no reload or SIGHUP): skipping the invalid-edit scenario")
	}
	e := newEnv(t, envOptions{})
	e.dropFiles("h", 6, 2000)
	c := e.spawn()
	e.uploadsAtLeast(6, time.Minute)
	e.WriteConfig("mapbox:\n  username: acme\nwatch: [\n")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the daemon to refuse the new configuration", 30*time.Second, func() bool {
		l := strings.ToLower(e.Logs.String())
		return strings.Contains(l, "config.yaml:3") && strings.Contains(l, "refused")
	})
	if c.exited() {
		t.Fatalf("the daemon stopped on an invalid configuration: %v", c.err)
	}
	for _, line := range strings.Split(e.Logs.String(), "\n") {
		if strings.Contains(strings.ToLower(line), "refused") {
			t.Logf("what the daemon said: %s", line)
		}
	}
	e.dropFiles("i", 4, 2000) // still syncing on the last good configuration
	tally := e.waitQuiet(time.Minute, nil)
	if c.exited() {
		t.Fatalf("the daemon stopped: %v", c.err)
	}
	c.kill()
	e.report("config edited to invalid", tally)
}
