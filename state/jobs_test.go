package state_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

const watch = "/data"

func newJob(tileset, path, sha string) state.NewJob {
	return state.NewJob{Tileset: tileset, Name: path, Source: state.FileKey{Watch: watch, Path: path}, SHA256: sha, Size: 100}
}

func fillJobs(t *testing.T, s *state.Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Enqueue(newJob(fmt.Sprintf("u.t%d", i), fmt.Sprintf("f%d.geojson", i), fmt.Sprintf("%064x", i))); err != nil {
			t.Fatal(err)
		}
	}
}

// mustOK returns a function that fails t on an error and returns the job.
func mustOK(t *testing.T) func(state.Job, error) state.Job {
	return func(j state.Job, err error) state.Job {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
}

func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, state.ErrInvalidTransition) {
		t.Errorf("%s: got %v, want ErrInvalidTransition", what, err)
	}
}

// TestPipeline walks one job through every stage, with the file record and
// history, and the restart questions the syncer asks on the way.
// It is long because it is one job's story told in order.
func TestPipeline(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})
	ok := mustOK(t)
	key := state.FileKey{Watch: watch, Path: "roads.geojson"}
	nj := newJob("u.roads", "roads.geojson", "r1")
	nj.File = &state.FileRecord{Key: key, Size: 100, ModTime: 1, SHA256: "r1"}
	res, err := s.Enqueue(nj)
	if err != nil || res.Existing || len(res.Superseded) != 0 {
		t.Fatalf("enqueue: %+v %v", res, err)
	}
	id := res.Job.ID
	if rec, ok, _ := s.File(key); !ok || rec.Outcome != state.OutcomePending || rec.Tileset != "u.roads" {
		t.Fatalf("file record after enqueue: %+v", rec)
	}
	next, _ := s.Next(clk.Now(), 10)
	if len(next) != 1 || next[0].ID != id {
		t.Fatalf("next: %v", next)
	}

	j := ok(s.StartStaging(id))
	if j.Stage != state.StageStaging {
		t.Fatalf("stage %s", j.Stage)
	}
	creds := state.Credentials{Bucket: "b", Key: "k", URL: "s3://b/k", AccessKeyID: "AKIA", SecretAccessKey: "SECRET", SessionToken: "TOKEN",
		FetchedAt: clk.Now(), Expires: clk.Now().Add(time.Hour)}
	ok(s.SetCredentials(id, creds))
	ok(s.MultipartStarted(id, state.Multipart{UploadID: "mp1", PartSize: 5 << 20, Checksum: "CRC32"}))
	ok(s.PartDone(id, state.Part{Number: 2, ETag: "e2", Size: 5 << 20}))
	ok(s.PartDone(id, state.Part{Number: 1, ETag: "e1", Size: 5 << 20}))
	j = ok(s.PartDone(id, state.Part{Number: 2, ETag: "e2b", Size: 5 << 20}))
	if p := j.Multipart.Parts; len(p) != 2 || p[0].Number != 1 || p[1].ETag != "e2b" || j.Multipart.Checksum != "CRC32" {
		t.Fatalf("parts %+v", p)
	}
	// Credentials survive in the store but never in printed form.
	stored, _, _ := s.Job(id)
	if stored.Credentials == nil || stored.Credentials.SessionToken != "TOKEN" {
		t.Fatalf("credentials not stored: %+v", stored.Credentials)
	}
	for _, printed := range []string{fmt.Sprintf("%v", stored), fmt.Sprintf("%+v", *stored.Credentials), fmt.Sprintf("%#v", *stored.Credentials), fmt.Sprint(stored.Credentials)} {
		if strings.Contains(printed, "SECRET") || strings.Contains(printed, "TOKEN") {
			t.Errorf("secret printed: %s", printed)
		}
	}
	if inflight, _ := s.InFlight(); len(inflight) != 1 {
		t.Errorf("in flight: %v", inflight)
	}

	if _, err := s.MarkStaged(id, "other"); !errors.Is(err, state.ErrHashMismatch) {
		t.Errorf("staged with another hash: %v", err)
	}
	ok(s.MarkStaged(id, "r1"))
	sent := clk.Now()
	ok(s.CreateSent(id, sent, time.Time{}))
	clk.Advance(time.Second)
	j = ok(s.CreateSent(id, clk.Now(), time.Time{}))
	if !j.CreateSentAt.Equal(sent) {
		t.Errorf("CreateSentAt moved to %v", j.CreateSentAt)
	}
	_, err = s.Cancel(id, "x")
	wantInvalid(t, "cancel after create sent", err)
	j = ok(s.Created(id, "up-1", clk.Now()))
	if j.Stage != state.StageProcessing || j.UploadID != "up-1" {
		t.Fatalf("created: %+v", j)
	}
	j = ok(s.Progress(id, 0.5))
	if j.Progress != 0.5 {
		t.Errorf("progress %v", j.Progress)
	}
	j = ok(s.Done(id))
	if j.Stage != state.StageDone {
		t.Errorf("done returns stage %s", j.Stage)
	}
	if _, ok, _ := s.Job(id); ok {
		t.Error("done job still stored")
	}
	if ok, _ := s.Unchanged("u.roads", "r1"); !ok {
		t.Error("tileset record not updated")
	}
	ts, _, _ := s.Tileset("u.roads")
	if ts.UploadID != "up-1" || ts.Source != key {
		t.Errorf("tileset record %+v", ts)
	}
	if rec, _, _ := s.File(key); rec.Outcome != state.OutcomeUploaded {
		t.Errorf("file outcome %s", rec.Outcome)
	}
	h, _ := s.RecentHistory(10)
	if len(h) != 1 || h[0].Outcome != state.OutcomeUploaded || h[0].UploadID != "up-1" {
		t.Errorf("history %+v", h)
	}
	if _, err := s.Done(id); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("done twice: %v", err)
	}
}

// TestInvalidTransitions tries every operation from every stage it does not allow.
// It is long because it is a table of operations by stage.
func TestInvalidTransitions(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})
	ok := mustOK(t)
	type op struct {
		name string
		do   func(id uint64) (state.Job, error)
		from []state.Stage
	}
	ops := []op{
		{"StartStaging", s.StartStaging, []state.Stage{state.StageQueued}},
		{"SetCredentials", func(id uint64) (state.Job, error) { return s.SetCredentials(id, state.Credentials{Bucket: "b"}) }, []state.Stage{state.StageStaging}},
		{"MultipartStarted", func(id uint64) (state.Job, error) {
			return s.MultipartStarted(id, state.Multipart{UploadID: "m", PartSize: 1})
		}, []state.Stage{state.StageStaging}},
		{"MarkStaged", func(id uint64) (state.Job, error) { return s.MarkStaged(id, "h") }, []state.Stage{state.StageStaging}},
		{"CreateSent", func(id uint64) (state.Job, error) { return s.CreateSent(id, clk.Now(), time.Time{}) }, []state.Stage{state.StageStaged}},
		{"Created", func(id uint64) (state.Job, error) { return s.Created(id, "u", clk.Now()) }, []state.Stage{state.StageStaged}},
		{"Progress", func(id uint64) (state.Job, error) { return s.Progress(id, .1) }, []state.Stage{state.StageProcessing}},
		{"Done", s.Done, []state.Stage{state.StageProcessing}},
		{"RetryLater", func(id uint64) (state.Job, error) { return s.RetryLater(id, "e", clk.Now()) },
			[]state.Stage{state.StageStaging, state.StageStaged, state.StageProcessing}},
		{"Resume", s.Resume, []state.Stage{state.StageRetryWait}},
		{"Retry", s.Retry, []state.Stage{state.StageFailed, state.StageRetryWait}},
		{"Fail", func(id uint64) (state.Job, error) { return s.Fail(id, "r") },
			[]state.Stage{state.StageQueued, state.StageStaging, state.StageStaged, state.StageProcessing, state.StageRetryWait}},
	}
	n := 0
	// reach creates a fresh job (own tileset) in the given stage.
	reach := func(stage state.Stage) uint64 {
		n++
		res, err := s.Enqueue(newJob(fmt.Sprintf("u.s%d", n), fmt.Sprintf("s%d", n), "h"))
		if err != nil {
			t.Fatal(err)
		}
		id := res.Job.ID
		steps := map[state.Stage][]func() (state.Job, error){
			state.StageQueued:     nil,
			state.StageStaging:    {func() (state.Job, error) { return s.StartStaging(id) }},
			state.StageStaged:     {func() (state.Job, error) { return s.StartStaging(id) }, func() (state.Job, error) { return s.MarkStaged(id, "h") }},
			state.StageProcessing: {func() (state.Job, error) { return s.StartStaging(id) }, func() (state.Job, error) { return s.MarkStaged(id, "h") }, func() (state.Job, error) { return s.Created(id, "up", clk.Now()) }},
			state.StageRetryWait:  {func() (state.Job, error) { return s.StartStaging(id) }, func() (state.Job, error) { return s.RetryLater(id, "e", clk.Now()) }},
			state.StageFailed:     {func() (state.Job, error) { return s.Fail(id, "r") }},
		}
		for _, step := range steps[stage] {
			ok(step())
		}
		return id
	}
	for _, o := range ops {
		for _, stage := range state.Stages {
			allowed := false
			for _, f := range o.from {
				allowed = allowed || f == stage
			}
			id := reach(stage)
			before, _, _ := s.Job(id)
			j, err := o.do(id)
			if allowed {
				if err != nil && !errors.Is(err, state.ErrHashMismatch) {
					t.Errorf("%s from %s: %v", o.name, stage, err)
				}
				continue
			}
			_ = j
			wantInvalid(t, fmt.Sprintf("%s from %s", o.name, stage), err)
			after, _, _ := s.Job(id)
			if fmt.Sprint(before) != fmt.Sprint(after) || !before.UpdatedAt.Equal(after.UpdatedAt) {
				t.Errorf("%s from %s changed the job", o.name, stage)
			}
		}
	}
	if _, err := s.StartStaging(9999); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
	// Cancel: allowed before Mapbox can know the job.
	for _, stage := range state.Stages {
		id := reach(stage)
		_, err := s.Cancel(id, "file changed")
		if stage == state.StageProcessing {
			if !errors.Is(err, state.ErrInvalidTransition) {
				t.Errorf("cancel from processing: %v", err)
			}
		} else if err != nil {
			t.Errorf("cancel from %s: %v", stage, err)
		}
	}
}

func TestRetryLaterAndResume(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})
	ok := mustOK(t)
	res, _ := s.Enqueue(newJob("u.a", "a", "h"))
	id := res.Job.ID
	ok(s.StartStaging(id))
	ok(s.MarkStaged(id, "h"))
	due := clk.Now().Add(time.Minute)
	j := ok(s.RetryLater(id, "503 slow down", due))
	if j.Stage != state.StageRetryWait || j.RetryFrom != state.StageStaged || j.Attempts != 1 || j.LastError != "503 slow down" {
		t.Fatalf("retry-wait job %+v", j)
	}
	if next, _ := s.Next(clk.Now(), 5); len(next) != 0 {
		t.Errorf("next before due: %v", next)
	}
	if wake, ok, _ := s.NextWake(); !ok || !wake.Equal(due) {
		t.Errorf("next wake %v %v", wake, ok)
	}
	if next, _ := s.Next(due, 5); len(next) != 1 {
		t.Errorf("next when due: %v", next)
	}
	j = ok(s.Resume(id))
	if j.Stage != state.StageStaged || j.RetryFrom != 0 || j.Attempts != 1 {
		t.Errorf("resumed %+v", j)
	}
	ok(s.RetryLater(id, "again", due.Add(time.Hour)))
	j = ok(s.Retry(id)) // `retry` makes it due now
	if !j.NextAttempt.IsZero() {
		t.Errorf("retry kept next attempt %v", j.NextAttempt)
	}
	if next, _ := s.Next(clk.Now(), 5); len(next) != 1 {
		t.Errorf("next after retry: %v", next)
	}
}

func TestFailAndRetry(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	key := state.FileKey{Watch: watch, Path: "a"}
	nj := newJob("u.a", "a", "h1")
	nj.File = &state.FileRecord{Key: key, SHA256: "h1"}
	res, _ := s.Enqueue(nj)
	id := res.Job.ID
	ok(s.StartStaging(id))
	ok(s.MarkStaged(id, "h1"))
	ok(s.Created(id, "up", time.Now()))
	j := ok(s.Fail(id, "invalid geometry"))
	if j.Stage != state.StageFailed || j.LastError != "invalid geometry" {
		t.Fatalf("failed job %+v", j)
	}
	if rec, _, _ := s.File(key); rec.Outcome != state.OutcomeFailed || rec.Reason != "invalid geometry" {
		t.Errorf("file after failure %+v", rec)
	}
	failed, _ := s.Failed()
	if len(failed) != 1 {
		t.Errorf("failed list %v", failed)
	}
	j = ok(s.Retry(id))
	if j.Stage != state.StageQueued || j.UploadID != "" || j.LastError != "" {
		t.Errorf("retried job %+v", j)
	}
	if rec, _, _ := s.File(key); rec.Outcome != state.OutcomePending {
		t.Errorf("file after retry %+v", rec)
	}
	// A failure with newer content queued: the failed job cannot be retried.
	ok(s.StartStaging(id))
	res2, _ := s.Enqueue(newJob("u.a", "a", "h2"))
	ok(s.Fail(id, "bad"))
	if _, err := s.Retry(id); !errors.Is(err, state.ErrNewerJob) {
		t.Errorf("retry with newer job: %v", err)
	}
	// The newer one fails too: only one failure per tileset is kept.
	ok(s.StartStaging(res2.Job.ID))
	ok(s.Fail(res2.Job.ID, "bad too"))
	if failed, _ := s.Failed(); len(failed) != 1 || failed[0].ID != res2.Job.ID {
		t.Errorf("failed list %v", failed)
	}
	// New content replaces a failed job.
	res3, _ := s.Enqueue(newJob("u.a", "a", "h3"))
	if len(res3.Superseded) != 1 || res3.Superseded[0].ID != res2.Job.ID {
		t.Errorf("enqueue over failure: %+v", res3)
	}
}
