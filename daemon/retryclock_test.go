package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/state"
)

// A job waiting to retry whose stored deadline lies far ahead, as a clock
// set back after it was stored leaves it, is retried within the longest
// wait tilesyncd schedules, not after the jump (issue 13, item 12).
func TestRetryDeadlineAfterClockSetBack(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.Write("roads.geojson", `{"roads":1}`)
	e.Srv.SetUnreachable(true)
	d1 := e.open()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d1.Run(ctx) }()
	var job state.Job
	testkit.WaitFor(t, "the job to wait for the network", 20*time.Second, func() bool {
		jobs, _ := d1.Store().ListJobs(state.JobFilter{Stages: []state.Stage{state.StageRetryWait}})
		if len(jobs) == 1 {
			job = jobs[0]
		}
		return len(jobs) == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The clock went back two hours after the retry was stored.
	if j, _, _ := d1.Store().Job(job.ID); j.Stage == state.StageRetryWait {
		if _, err := d1.Store().Resume(job.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d1.Store().RetryLater(job.ID, "offline", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	d1.Close()
	e.Srv.SetUnreachable(false)
	d2 := e.runDaemon(Options{})
	e.waitHeld(d2, "acme.roads", sha(`{"roads":1}`))
}
