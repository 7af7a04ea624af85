package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"
)

// Large files staged slowly, in 5 MiB parts one at a time, so that a
// scenario can act while a file is half sent.
const bigFile = 12 << 20

var slowStaging = staging.Options{PartSize: 5 << 20, MultipartThreshold: 5 << 20, Concurrency: 1}

func (e *env) dropBig(prefix string, n int) []string {
	e.t.Helper()
	rels := make([]string, 0, n)
	for i := range n {
		stem := fmt.Sprintf("%s%02d", prefix, i)
		rel := stem + ".geojson"
		if err := e.ledger.Write(rel, "acme."+stem, content(stem, 1, bigFile)); err != nil {
			e.t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	return rels
}

// midStaging calls act once for each file seen half staged (at least one
// part sent, not all), until every one of the n files has been acted on or
// the timeout passes. It returns how many were acted on.
func (e *env) midStaging(p *inproc, n int, timeout time.Duration, act func(j state.Job)) int {
	e.t.Helper()
	done := map[string]bool{}
	deadline := time.Now().Add(timeout)
	for len(done) < n && time.Now().Before(deadline) {
		for id, tr := range p.D.Syncer().Transfers() {
			if tr.Sent < 5<<20 || tr.Sent >= tr.Total {
				continue
			}
			j, ok, err := p.D.Store().Job(id)
			if err != nil || !ok || done[j.Source.Path] {
				continue
			}
			done[j.Source.Path] = true
			act(j)
		}
		time.Sleep(10 * time.Millisecond) // a poll tick, not a wait for an event
	}
	return len(done)
}

func TestCredentialsExpireMidUpload(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.proxy.SetRate(8 << 20)
	e.Srv.CorruptNextCredentials(2) // the first two are refused by S3 outright
	n := pick(8, 3)
	e.dropBig("c", n)
	p := e.start(inprocOptions{staging: slowStaging})
	acted := e.midStaging(p, n, time.Minute, func(state.Job) { e.Storage.(*mapboxsim.MemStorage).ExpireCredentials() })
	tally := e.waitQuiet(2*time.Minute, p.Idle)
	e.report(fmt.Sprintf("credentials expire (%d mid-upload)", acted), tally)
	if acted == 0 {
		t.Errorf("no credentials expired mid-upload: the scenario did not test what it says")
	}
}

// TestChangedWhileStaging appends to half the files while they are being
// staged and rewrites the other half in place (same size, other bytes): no
// upload may carry a mix of versions, and the newest content must arrive.
func TestChangedWhileStaging(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.proxy.SetRate(8 << 20)
	n := pick(8, 4)
	e.dropBig("g", n)
	p := e.start(inprocOptions{staging: slowStaging})
	i := 0
	acted := e.midStaging(p, n, time.Minute, func(j state.Job) {
		rel := j.Source.Path
		var err error
		if i%2 == 0 {
			err = e.ledger.Append(rel, []byte("\n  \n"))
		} else {
			err = e.ledger.Write(rel, tilesetOf(rel), content(tilesetOf(rel), 2, bigFile))
		}
		i++
		if err != nil {
			t.Error(err)
		}
	})
	tally := e.waitQuiet(2*time.Minute, p.Idle)
	e.report(fmt.Sprintf("changed while staging (%d)", acted), tally)
	if acted == 0 {
		t.Errorf("no file changed mid-staging: the scenario did not test what it says")
	}
}

// TestDeletedWhileQueued deletes files whose jobs are still queued; the
// rest must arrive and the queue must drain.
func TestDeletedWhileQueued(t *testing.T) {
	e := newEnv(t, envOptions{perMinute: 600}) // 0.1 s between requests: a queue builds
	n := pick(60, 24)
	e.dropFiles("q", n, 2000)
	p := e.start(inprocOptions{})
	var queued []state.Job
	testkit.WaitFor(t, "a queue", time.Minute, func() bool {
		queued, _ = p.D.Store().ListJobs(state.JobFilter{Stages: []state.Stage{state.StageQueued}})
		return len(queued) >= n/2
	})
	deleted := 0
	for _, j := range queued[len(queued)/2:] {
		if err := e.ledger.Remove(j.Source.Path); err != nil {
			t.Fatal(err)
		}
		deleted++
	}
	tally := e.waitQuiet(2*time.Minute, p.Idle)
	e.report(fmt.Sprintf("deleted while queued (%d)", deleted), tally)
}

// TestManyFilesAtOnce drops thousands of small files in one go.
func TestManyFilesAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	n := pick(10000, 1000)
	e.dropFiles("m", n, 300)
	p := e.start(inprocOptions{workers: 4})
	tally := e.waitQuiet(pick(20*time.Minute, 4*time.Minute), p.Idle)
	e.report(fmt.Sprintf("%d files at once", n), tally)
}
