package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"
)

// startDaemon runs a daemon on the env until the returned stop is called
// (or the test ends), and waits for its control endpoint.
func (e *env) startDaemon() (*Daemon, func()) {
	e.t.Helper()
	d := e.open()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
		d.Close()
	}
	e.t.Cleanup(stop)
	testkit.WaitFor(e.t, "the control endpoint", 10*time.Second, func() bool {
		code, _ := get(e.t, d.cfg.Control.Listen, "/healthz")
		return code != 0
	})
	return d, stop
}

// act takes an action through the daemon's control endpoint, as the CLI does.
func act(t *testing.T, d *Daemon, path string, req any) control.ActionResult {
	t.Helper()
	res, err := control.Act(context.Background(), d.cfg.Control.Listen, path, req)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res
}

// actionToken reads the daemon's action token, to look for it in the log.
func actionToken(t *testing.T, d *Daemon) string {
	t.Helper()
	code, body := get(t, d.cfg.Control.Listen, control.PathToken)
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(body), &v); code != http.StatusOK || err != nil || v.Token == "" {
		t.Fatalf("%s: %d %s", control.PathToken, code, body)
	}
	return v.Token
}

// uploadsTo counts the simulator's uploads to a tileset, and those complete.
func uploadsTo(srv *mapboxsim.Server, tileset string) (all, complete int) {
	for _, u := range srv.Uploads() {
		if u.Tileset == tileset {
			all++
			if u.Complete {
				complete++
			}
		}
	}
	return all, complete
}

// retry and forget act on the running daemon: a failed file is sent again
// at once, a forgotten one is read again and sent though its tileset holds
// it; what cannot be done is skipped with the reason. The action token
// never reaches the log.
func TestActionsRetryAndForget(t *testing.T) {
	e := newEnv(t, envOptions{})
	bad := `{"type":"FeatureCollection","features":[],"name":"bad"}`
	e.Srv.SetContentOutcome(sha(bad), "Tileset has no features: the GeoJSON holds none.")
	e.Write("bad.geojson", bad)
	e.Write("good.geojson", `{"type":"FeatureCollection","features":[]}`)
	d, _ := e.startDaemon()
	testkit.WaitFor(t, "one upload, one failure", 30*time.Second, func() bool {
		return d.Syncer().Stats().Uploaded.Load() == 1 && d.Syncer().Stats().Failed.Load() == 1
	})

	e.Srv.SetContentOutcome(sha(bad), "")
	badKey := state.FileKey{Watch: e.Drop, Path: "bad.geojson"}
	goodKey := state.FileKey{Watch: e.Drop, Path: "good.geojson"}
	res := act(t, d, control.PathRetry, control.RetryRequest{Files: []state.FileKey{badKey, goodKey, {Watch: "/elsewhere", Path: "x.geojson"}}})
	if len(res.Done) != 1 || res.Done[0].Source != badKey || res.Done[0].Tileset != "acme.bad" {
		t.Errorf("retry: done %+v, want bad.geojson → acme.bad", res.Done)
	}
	if len(res.Skipped) != 2 || !strings.Contains(res.Skipped[0].Reason, "nothing failed") || !strings.Contains(res.Skipped[1].Reason, "not in a watch folder") {
		t.Errorf("retry: skipped %+v, want good.geojson (nothing failed) and /elsewhere (not watched)", res.Skipped)
	}
	testkit.WaitFor(t, "the retried file uploaded", 30*time.Second, func() bool {
		_, complete := uploadsTo(e.Srv, "acme.bad")
		return complete == 1 && d.Syncer().Stats().Uploaded.Load() == 2
	})
	if all, _ := uploadsTo(e.Srv, "acme.bad"); all != 2 {
		t.Errorf("uploads to acme.bad: %d, want the failed one and its retry", all)
	}
	if res := act(t, d, control.PathRetry, control.RetryRequest{Failed: true}); len(res.Done) != 0 {
		t.Errorf("retry of every failed file with none failed: %+v", res)
	}

	// forget: the tileset holds good.geojson's bytes, yet they are sent
	// again, at once (no scan comes: the watcher saw no change).
	res = act(t, d, control.PathForget, control.ForgetRequest{Files: []state.FileKey{goodKey, {Watch: e.Drop, Path: "never-seen.geojson"}}})
	if len(res.Done) != 1 || res.Done[0].Source != goodKey || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "nothing is known") {
		t.Errorf("forget: %+v, want good.geojson done and never-seen.geojson skipped", res)
	}
	testkit.WaitFor(t, "the forgotten file sent again", 30*time.Second, func() bool {
		_, complete := uploadsTo(e.Srv, "acme.good")
		return complete == 2
	})

	token := actionToken(t, d)
	if strings.Contains(e.Logs.String(), token) {
		t.Errorf("the daemon's log shows the action token")
	}
	if !strings.Contains(e.Logs.String(), "control: action taken") {
		t.Errorf("the actions are not logged")
	}
}

// A paused folder is still watched and its changes queue, but nothing of it
// is sent, across a restart, until it resumes; another folder goes on.
func TestActionsPauseHoldsSending(t *testing.T) {
	e := newEnv(t, envOptions{})
	other := filepath.Join(e.Dir, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	e.WriteConfig(strings.Replace(string(text), "watch:\n",
		"watch:\n  - path: "+other+"\n    mode: poll\n    poll_interval: 100ms\n    settle: 200ms\n", 1))
	writeOther := func(name, content string) {
		if err := os.WriteFile(filepath.Join(other, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, stop := e.startDaemon()

	res := act(t, d, control.PathPause, control.PauseRequest{Folders: []string{e.Drop, "/not/watched"}})
	if len(res.Done) != 1 || res.Done[0].Folder != e.Drop || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, "not a watch folder") {
		t.Errorf("pause: %+v", res)
	}
	checkPaused(t, d, e.Drop, other)

	// The paused folder's file queues; a later file of the other folder is
	// sent, so the dispatcher has passed over the held job.
	heldKey := state.FileKey{Watch: e.Drop, Path: "held.geojson"}
	e.Write("held.geojson", `{"type":"FeatureCollection","features":[],"name":"held"}`)
	testkit.WaitFor(t, "the paused folder's file queued", 30*time.Second, func() bool {
		jobs, err := d.Store().ListJobs(state.JobFilter{Source: heldKey})
		all, _ := uploadsTo(e.Srv, "acme.held")
		return err == nil && len(jobs) == 1 || all > 0 // sent: assertHeld says so
	})
	writeOther("free.geojson", `{"type":"FeatureCollection","features":[],"name":"free"}`)
	testkit.WaitFor(t, "the other folder's file sent", 30*time.Second, func() bool {
		_, complete := uploadsTo(e.Srv, "acme.free")
		return complete == 1
	})
	assertHeld(t, e, d, heldKey)

	// Across a restart: still paused.
	stop()
	d, _ = e.startDaemon()
	checkPaused(t, d, e.Drop, other)
	writeOther("free2.geojson", `{"type":"FeatureCollection","features":[],"name":"free2"}`)
	testkit.WaitFor(t, "the other folder's file sent after the restart", 30*time.Second, func() bool {
		_, complete := uploadsTo(e.Srv, "acme.free2")
		return complete == 1
	})
	assertHeld(t, e, d, heldKey)

	// Resume every folder: the held file is sent; the other folder was not paused.
	res = act(t, d, control.PathResume, control.PauseRequest{})
	if len(res.Done) != 1 || res.Done[0].Folder != e.Drop || len(res.Skipped) != 1 || res.Skipped[0].Folder != other {
		t.Errorf("resume all: %+v, want the drop folder resumed and the other skipped", res)
	}
	testkit.WaitFor(t, "the held file sent once resumed", 30*time.Second, func() bool {
		_, complete := uploadsTo(e.Srv, "acme.held")
		return complete == 1
	})
	checkPaused(t, d)
	if got, err := d.Store().PausedFolders(); err != nil || len(got) != 0 {
		t.Errorf("paused folders recorded after resume: %q, %v", got, err)
	}
}

// checkPaused reads /status and checks that exactly paused are paused,
// in the list and in each watch folder's entry (unpaused are the others).
func checkPaused(t *testing.T, d *Daemon, paused ...string) {
	t.Helper()
	var want []string
	if len(paused) > 0 {
		want = paused[:1]
	}
	code, body := get(t, d.cfg.Control.Listen, "/status")
	var st control.Status
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("/status: %d %v %s", code, err, body)
	}
	if !slices.Equal(st.Paused, want) {
		t.Errorf("/status paused = %q, want %q", st.Paused, want)
	}
	for _, w := range st.Watch {
		if w.Paused != slices.Contains(want, w.Folder) {
			t.Errorf("/status watch %s: paused %v", w.Folder, w.Paused)
		}
	}
}

// assertHeld checks that the job of key is still queued and nothing of it
// reached Mapbox.
func assertHeld(t *testing.T, e *env, d *Daemon, key state.FileKey) {
	t.Helper()
	jobs, err := d.Store().ListJobs(state.JobFilter{Source: key})
	if err != nil || len(jobs) != 1 || jobs[0].Stage != state.StageQueued {
		t.Errorf("the paused folder's job: %v %v, want one, queued", jobs, err)
	}
	if all, _ := uploadsTo(e.Srv, "acme.held"); all != 0 {
		t.Errorf("a paused folder's file was sent (%d uploads)", all)
	}
}
