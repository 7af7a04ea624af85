package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
)

// pause and resume act on the running daemon through its control endpoint,
// and on the state file when none runs; status shows what is paused, and
// a pause recorded while the daemon was stopped holds at its start.
func TestPauseResumeCommands(t *testing.T) {
	e := newStatusEnv(t)
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{args[0], "--config", e.cfgPath}, args[1:]...)...)
		noToken(t, out, errOut)
		return code, out, errOut
	}
	if code, _, errOut := cli("pause"); code != 1 || !strings.Contains(errOut, "no state database") {
		t.Errorf("pause before any run: exit %d, %s", code, errOut)
	}

	d, stop := e.start()
	e.write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	statusWait(t, "the upload", func() bool { return d.Syncer().Stats().Uploaded.Load() == 1 })

	code, out, errOut := cli("pause")
	if code != 0 || !strings.Contains(out, "paused: "+e.drop) || !strings.Contains(out, "the running daemon sends nothing") {
		t.Errorf("pause with the daemon running: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := cli("status"); code != 0 || !strings.Contains(out, "Paused:       "+e.drop) || !strings.Contains(out, "PAUSED") {
		t.Errorf("status with a paused folder: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli("pause", e.drop); code != 0 || !strings.Contains(errOut, e.drop+": already paused") {
		t.Errorf("pause again: exit %d, %s", code, errOut)
	}
	if code, _, errOut := cli("pause", filepath.Join(e.dir, "elsewhere")); code != 2 || !strings.Contains(errOut, "is not a watch folder (the configuration's: "+e.drop) {
		t.Errorf("pause of another folder: exit %d, %s", code, errOut)
	}
	if code, _, errOut := cli("resume", filepath.Join(e.drop, "sub")); code != 2 || !strings.Contains(errOut, "is inside the watch folder") {
		t.Errorf("resume of a subfolder: exit %d, %s", code, errOut)
	}

	// No daemon: the state file is changed, and status reads it from there.
	stop()
	code, out, errOut = cli("resume", e.drop)
	if code != 0 || !strings.Contains(out, "resumed: "+e.drop) || !strings.Contains(out, "recorded in the state file") {
		t.Errorf("resume without a daemon: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := cli("pause"); code != 0 || !strings.Contains(out, "the daemon starts with these folders paused") {
		t.Errorf("pause without a daemon: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := cli("status"); code != 0 || !strings.Contains(out, "daemon not running") || !strings.Contains(out, "Paused:       "+e.drop) {
		t.Errorf("status from the state file: exit %d\n%s", code, out)
	}

	// The daemon starts paused; what queued is sent once resumed.
	d, _ = e.start()
	if code, out, _ := cli("status"); code != 0 || !strings.Contains(out, "PAUSED") {
		t.Errorf("status after a start with the folder paused: exit %d\n%s", code, out)
	}
	e.write("lakes.geojson", `{"type":"FeatureCollection","features":[],"name":"lakes"}`)
	statusWait(t, "the paused folder's file queued", func() bool {
		counts, err := d.Store().Counts()
		return err == nil && counts[state.StageQueued] == 1
	})
	code, out, errOut = cli("resume")
	if code != 0 || !strings.Contains(out, "resumed: "+e.drop) || !strings.Contains(out, "sends what these folders queued now") {
		t.Errorf("resume with the daemon running: exit %d\n%s%s", code, out, errOut)
	}
	statusWait(t, "the file sent after resume", func() bool { return d.Syncer().Stats().Uploaded.Load() == 1 })
}

// retry and forget act on the running daemon: the failed file is sent again
// at once, the forgotten one is read again and sent. With the daemon's
// control endpoint off, they say what to do instead of waiting on its lock.
func TestRetryForgetThroughDaemon(t *testing.T) {
	e := newStatusEnv(t)
	e.srv.SetOutcome("acme.bad", "Tileset is empty.")
	d, _ := e.start()
	e.write("bad.geojson", `{"type":"FeatureCollection","features":[],"name":"bad"}`)
	e.write("good.geojson", `{"type":"FeatureCollection","features":[]}`)
	statusWait(t, "one upload and one failure", func() bool {
		return d.Syncer().Stats().Uploaded.Load() == 1 && d.Syncer().Stats().Failed.Load() == 1
	})
	if code, out, _ := runCLI(t, "status", "--config", e.cfgPath); !strings.Contains(out, "Tileset is empty.") {
		t.Errorf("status with a failure: exit %d\n%s", code, out)
	}

	e.srv.SetOutcome("acme.bad", "")
	code, out, errOut := runCLI(t, "retry", "--config", e.cfgPath, "--failed")
	if code != 0 || !strings.Contains(out, "queued again: "+e.drop+"/bad.geojson → acme.bad") || !strings.Contains(out, "the running daemon sends them now") {
		t.Errorf("retry --failed through the daemon: exit %d\n%s%s", code, out, errOut)
	}
	statusWait(t, "the retried file uploaded", func() bool { return d.Syncer().Stats().Uploaded.Load() == 2 })

	code, out, errOut = runCLI(t, "retry", "--config", e.cfgPath, filepath.Join(e.drop, "good.geojson"))
	if code != 0 || !strings.Contains(errOut, "good.geojson: nothing failed") || !strings.Contains(out, "0 file(s)") {
		t.Errorf("retry of a file that did not fail: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "forget", "--config", e.cfgPath, filepath.Join(e.drop, "good.geojson"))
	if code != 0 || !strings.Contains(out, "forgotten: "+e.drop+"/good.geojson (the running daemon reads it again and sends it now)") {
		t.Errorf("forget through the daemon: exit %d\n%s%s", code, out, errOut)
	}
	statusWait(t, "the forgotten file sent again", func() bool {
		n := 0
		for _, u := range e.srv.Uploads() {
			if u.Tileset == "acme.good" && u.Complete {
				n++
			}
		}
		return n == 2
	})

	// A configuration whose control endpoint is off, on the same state file.
	text, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	off := filepath.Join(e.dir, "off.yaml")
	if err := os.WriteFile(off, []byte(strings.Replace(string(text), "listen: unix:control.sock", `listen: "off"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "retry", "--config", off, "--failed")
	if code != 1 || !strings.Contains(errOut, "a running tilesyncd holds") || !strings.Contains(errOut, "control endpoint is off") {
		t.Errorf("retry with the control endpoint off: exit %d, %s", code, errOut)
	}
}
