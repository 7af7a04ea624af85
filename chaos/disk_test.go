package chaos

import (
	"fmt"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStateDiskFull puts the state database on a small tmpfs that fills up
// while the real binary works: it must say so plainly, lose nothing and
// duplicate nothing, and carry on once there is room again (restarted if it
// exited, as its service manager would).
func TestStateDiskFull(t *testing.T) {
	fs := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", fs).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s); the disk-full scenario needs one", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", fs).Run() })
	e := newEnv(t, envOptions{statePath: filepath.Join(fs, "state.db")})
	c := e.spawn()
	testkit.WaitFor(t, "the state database", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(fs, "state.db"))
		return err == nil
	})
	// Leave about 64 KiB free.
	filler := filepath.Join(fs, "filler")
	fill := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k")
	fill.Run() // ends with "No space left on device", as intended
	if err := os.Truncate(filler, mustSize(t, filler)-64<<10); err != nil {
		t.Fatal(err)
	}
	n := pick(400, 150)
	e.dropFiles("f", n, 2000)
	testkit.WaitFor(t, "the daemon to hit the full disk", time.Minute, func() bool {
		return strings.Contains(e.Logs.String(), "no space left on device")
	})
	os.Remove(filler)
	restarts := 0
	deadline := time.Now().Add(pick(2*time.Minute, 45*time.Second))
	for time.Now().Before(deadline) {
		if c.exited() {
			restarts++
			c = e.spawn()
		}
		if t := e.tally(); t.Lost == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond) // a poll tick, not a wait for an event
	}
	tally := e.waitQuiet(30*time.Second, nil)
	c.kill()
	e.report(fmt.Sprintf("state disk full (%d restarts)", restarts), tally)
	for _, line := range strings.Split(e.Logs.String(), "\n") {
		if strings.Contains(line, "no space left on device") {
			t.Logf("what the daemon said: %s", line)
			break
		}
	}
}

func mustSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
