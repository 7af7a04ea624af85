package daemon

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// heldBackAfterStaging runs a daemon until the file's bytes are staged and
// its create keeps failing, stops it, and deletes the staged object as a
// staging bucket does with old objects (issue 13, item 13).
func heldBackAfterStaging(t *testing.T, e *env) state.Job {
	t.Helper()
	e.Write("roads.geojson", `{"roads":1}`)
	e.Srv.FailNext(mapbox.EndpointCreate, 1<<20, 503)
	d := e.open()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var job state.Job
	testkit.WaitFor(t, "the create to be held back", 20*time.Second, func() bool {
		jobs, _ := d.Store().ListJobs(state.JobFilter{Stages: []state.Stage{state.StageRetryWait}})
		if len(jobs) == 1 && jobs[0].RetryFrom == state.StageStaged {
			job = jobs[0]
			return true
		}
		return false
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d.Close()
	e.Srv.ClearFaults()
	if err := e.Storage.Delete(context.Background(), job.Credentials.Key); err != nil {
		t.Fatal(err)
	}
	return job
}

// Bytes staged longer ago than staged_max_age are staged again before
// their upload is created: no upload is made from a dropped object.
func TestOldStagedBytesStagedAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	job := heldBackAfterStaging(t, e)
	testkit.WaitFor(t, "the staged bytes to be older than staged_max_age", 10*time.Second, func() bool {
		return time.Since(job.StagedAt) > 2*time.Second
	})
	e.mapboxOption("  staged_max_age: 2s\n")
	d := e.runDaemon(Options{})
	e.waitHeld(d, "acme.roads", sha(`{"roads":1}`))
	for _, u := range e.Srv.Uploads() {
		if u.Error != "" {
			t.Errorf("upload %s failed: %s", u.ID, u.Error)
		}
	}
}

// An upload Mapbox fails because the staged object is gone is staged again
// and created anew, not given up on.
func TestStagedObjectGoneStagedAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	heldBackAfterStaging(t, e)
	d := e.runDaemon(Options{})
	e.waitHeld(d, "acme.roads", sha(`{"roads":1}`))
	failed := 0
	for _, u := range e.Srv.Uploads() {
		if strings.Contains(u.Error, "Could not find the staged file") {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d uploads failed for a missing object, want the one made from the dropped object", failed)
	}
}

// mapboxOption adds a line to the configuration's mapbox: section.
func (e *env) mapboxOption(line string) {
	e.t.Helper()
	b, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "mapbox:\n", "mapbox:\n"+line, 1)
	if err := os.WriteFile(e.ConfigPath, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}
