package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/syncer"
)

// The regression tests of issue 12: ordinary sequences after which the
// tileset held other bytes than the folder while the state said uploaded.
// The randomized checker (package convergence) looks for the class; these
// keep the four cases it was filed with.

// holds returns the SHA-256 of the last upload created for tileset, which
// must have completed: Mapbox refuses a create while the tileset processes
// another, so the last created is the last to finish.
func (e *env) holds(tileset string) string {
	e.t.Helper()
	var last string
	for _, u := range e.srv.Uploads() {
		if u.Tileset == tileset && u.Error == "" {
			last = u.SHA256
		}
	}
	return last
}

// runDaemon runs a daemon on the env until the test ends.
func (e *env) runDaemon(opts Options) *Daemon {
	e.t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = testHTTPClient()
	}
	opts.Poll = e.poll
	opts.Backoff = syncer.Backoff{Min: 20 * time.Millisecond, Max: 300 * time.Millisecond}
	opts.Budget = syncer.BudgetOptions{MinOutage: 20 * time.Millisecond, MaxOutage: 300 * time.Millisecond}
	d, err := Open(e.config(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
		d.Close()
	})
	return d
}

// waitQuiet waits until the daemon has nothing queued or in flight and the
// tileset's record says want.
func (e *env) waitHeld(d *Daemon, tileset, want string) {
	e.t.Helper()
	waitFor(e.t, tileset+" to hold "+want[:12], 30*time.Second, func() bool {
		idle, err := d.Syncer().Idle()
		rec, ok, _ := d.Store().Tileset(tileset)
		return err == nil && idle && ok && rec.SHA256 == want
	})
}

// Case 1: the create of v2 is refused before it took effect; its retry must
// not take v1's upload for v2's.
func TestRefusedCreateDoesNotAdoptThePreviousUpload(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.write("roads.geojson", `{"v":1}`)
	if sum := e.syncOnce(); sum.Uploaded != 1 {
		t.Fatalf("first sync: %+v", sum)
	}
	e.write("roads.geojson", `{"v":2}`)
	e.srv.FailNext(mapbox.EndpointCreate, 1, 500)
	e.syncOnce()
	if got, want := e.holds("acme.roads"), sha(`{"v":2}`); got != want {
		t.Fatalf("Mapbox holds %.12s, the folder %.12s", got, want)
	}
}

// Case 2: the file goes back to the tileset's content while newer content
// is being processed; the reverted bytes must be sent after it.
func TestRevertWhileNewerInFlight(t *testing.T) {
	e := newEnv(t, envOptions{processing: 1500 * time.Millisecond})
	d := e.runDaemon(Options{})
	e.write("roads.geojson", `{"v":"A"}`)
	e.waitHeld(d, "acme.roads", sha(`{"v":"A"}`))
	e.write("roads.geojson", `{"v":"B"}`)
	waitFor(t, "B to be processing", 20*time.Second, func() bool {
		jobs, _ := d.Store().ListJobs(state.JobFilter{Stages: []state.Stage{state.StageProcessing}})
		return len(jobs) == 1 && jobs[0].SHA256 == sha(`{"v":"B"}`)
	})
	e.write("roads.geojson", `{"v":"A"}`)
	e.waitHeld(d, "acme.roads", sha(`{"v":"A"}`))
	if got := e.holds("acme.roads"); got != sha(`{"v":"A"}`) {
		t.Fatalf("Mapbox holds %.12s, the folder A", got)
	}
}

// Case 3: a new file's job waits (offline); the file moves to another
// folder that maps to the same tileset. The job must send it from there.
func TestFileMovedWhileItsJobWaits(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.srv.SetUnreachable(true)
	d := e.runDaemon(Options{})
	e.write("a/roads.geojson", `{"roads":1}`)
	waitFor(t, "the job to wait for the network", 20*time.Second, func() bool {
		jobs, _ := d.Store().ListJobs(state.JobFilter{Stages: []state.Stage{state.StageRetryWait}})
		return len(jobs) == 1
	})
	if err := os.MkdirAll(filepath.Join(e.drop, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(e.drop, "a", "roads.geojson"), filepath.Join(e.drop, "b", "roads.geojson")); err != nil {
		t.Fatal(err)
	}
	moved := state.FileKey{Watch: e.drop, Path: "b/roads.geojson"}
	waitFor(t, "the moved file to be seen", 20*time.Second, func() bool {
		rec, ok, _ := d.Store().File(moved)
		_, old, _ := d.Store().File(state.FileKey{Watch: e.drop, Path: "a/roads.geojson"})
		return ok && rec.Outcome == state.OutcomePending && !old
	})
	e.srv.SetUnreachable(false)
	e.waitHeld(d, "acme.roads", sha(`{"roads":1}`))
	if rec, _, _ := d.Store().File(moved); rec.Outcome != state.OutcomeUploaded {
		t.Errorf("the moved file is %s, want uploaded", rec.Outcome)
	}
}

// Case 4: this machine's clock is 10 minutes ahead of Mapbox's and a
// create's answer is lost: recovery must find the upload, not create again.
func TestClockAheadOfMapboxLostCreateAnswer(t *testing.T) {
	e := newEnv(t, envOptions{now: func() time.Time { return time.Now().Add(-10 * time.Minute) }})
	e.write("roads.geojson", `{"roads":1}`)
	hc := testHTTPClient()
	hc.Transport = &lostAnswers{base: hc.Transport, n: 1}
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	d, err := Open(e.config(), Options{Logger: log, Poll: e.poll, HTTPClient: hc,
		Backoff: syncer.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Budget:  syncer.BudgetOptions{MinOutage: 20 * time.Millisecond, MaxOutage: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if sum, err := d.SyncOnce(context.Background()); err != nil || sum.Uploaded != 1 {
		t.Fatalf("SyncOnce = %+v, %v", sum, err)
	}
	if n := e.uploadsByTileset()["acme.roads"]; n != 1 {
		t.Errorf("%d creates for acme.roads, want 1", n)
	}
}
