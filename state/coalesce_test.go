package state_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

func TestCoalescing(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})
	ok := mustOK(t)

	// Same content twice: one job.
	r1, _ := s.Enqueue(newJob("u.a", "a", "h1"))
	r1b, err := s.Enqueue(newJob("u.a", "a", "h1"))
	if err != nil || !r1b.Existing || r1b.Job.ID != r1.Job.ID {
		t.Fatalf("same content: %+v %v", r1b, err)
	}
	// Newer content replaces the queued one, recorded as superseded.
	r2, _ := s.Enqueue(newJob("u.a", "a", "h2"))
	if len(r2.Superseded) != 1 || r2.Superseded[0].ID != r1.Job.ID || r2.Job.ID <= r1.Job.ID {
		t.Fatalf("newer content: %+v", r2)
	}
	if _, found, _ := s.Job(r1.Job.ID); found {
		t.Error("superseded job still stored")
	}
	h, _ := s.TilesetHistory("u.a")
	if len(h) != 1 || h[0].Outcome != state.OutcomeSuperseded || h[0].SHA256 != "h1" {
		t.Errorf("history %+v", h)
	}

	// In flight: newer content waits behind it.
	ok(s.StartStaging(r2.Job.ID))
	r3, _ := s.Enqueue(newJob("u.a", "a", "h3"))
	if len(r3.Superseded) != 0 || r3.Job.Stage != state.StageQueued {
		t.Fatalf("behind in-flight: %+v", r3)
	}
	r4, _ := s.Enqueue(newJob("u.a", "a", "h4")) // replaces h3, not the in-flight h2
	if len(r4.Superseded) != 1 || r4.Superseded[0].ID != r3.Job.ID {
		t.Fatalf("second newer: %+v", r4)
	}
	// The in-flight content again (the file went back to it): it is the
	// existing job, and the queued newer content is superseded, so that the
	// tileset ends up holding h2 as the folder does.
	if r, _ := s.Enqueue(newJob("u.a", "a", "h2")); !r.Existing || r.Job.ID != r2.Job.ID ||
		len(r.Superseded) != 1 || r.Superseded[0].ID != r4.Job.ID {
		t.Fatalf("in-flight content again: %+v", r)
	}
	r4, _ = s.Enqueue(newJob("u.a", "a", "h4")) // and forward again
	other, _ := s.Enqueue(newJob("u.b", "b", "b1"))
	next, _ := s.Next(clk.Now(), 10)
	if len(next) != 1 || next[0].ID != other.Job.ID {
		t.Fatalf("next while u.a busy: %v", next)
	}
	if _, err := s.StartStaging(r4.Job.ID); err == nil {
		t.Fatal("started a second job of a busy tileset")
	}
	// A retry-wait job still holds the tileset.
	ok(s.RetryLater(r2.Job.ID, "timeout", clk.Now().Add(time.Minute)))
	next, _ = s.Next(clk.Now(), 10)
	if len(next) != 1 || next[0].ID != other.Job.ID {
		t.Fatalf("next while u.a waits: %v", next)
	}
	ok(s.Resume(r2.Job.ID))
	ok(s.MarkStaged(r2.Job.ID, "h2"))
	ok(s.Created(r2.Job.ID, "up2", clk.Now()))
	ok(s.Done(r2.Job.ID))
	next, _ = s.Next(clk.Now(), 10)
	if len(next) != 2 || next[0].ID != r4.Job.ID || next[1].ID != other.Job.ID {
		t.Fatalf("next after done (queue order): %v", next)
	}
	if next, _ := s.Next(clk.Now(), 1); len(next) != 1 {
		t.Errorf("next limit: %v", next)
	}
	counts, _ := s.Counts()
	if counts[state.StageQueued] != 2 || len(counts) != 1 {
		t.Errorf("counts %v", counts)
	}
	if ok, _ := s.Unchanged("u.a", "h2"); !ok {
		t.Error("unchanged after done")
	}
	if ok, _ := s.Unchanged("u.a", "h4"); ok {
		t.Error("unchanged for other content")
	}
}

func TestHistoryPruning(t *testing.T) {
	s := statetest.Open(t, state.Options{HistoryLimit: 3, GlobalHistoryLimit: 5})
	for i := range 8 {
		if _, err := s.Enqueue(newJob("u.a", "a", fmt.Sprint("h", i))); err != nil {
			t.Fatal(err)
		}
	}
	// 7 supersessions, all of tileset u.a and file a.
	th, _ := s.TilesetHistory("u.a")
	if len(th) != 3 || th[0].SHA256 != "h6" || th[2].SHA256 != "h4" {
		t.Errorf("tileset history %+v", th)
	}
	fh, _ := s.FileHistory(state.FileKey{Watch: watch, Path: "a"})
	if len(fh) != 3 || fh[0].SHA256 != "h6" {
		t.Errorf("file history %+v", fh)
	}
	for i := range 4 {
		if _, err := s.Enqueue(newJob("u.b", "b", fmt.Sprint("h", i))); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := s.RecentHistory(100)
	if len(all) != 5 || all[0].Tileset != "u.b" || all[0].SHA256 != "h2" || all[4].Tileset != "u.a" {
		t.Errorf("global history %+v", all)
	}
	if th, _ := s.TilesetHistory("u.a"); len(th) != 3 {
		t.Errorf("per-tileset history pruned by the global cap: %d", len(th))
	}
	// A path that is a prefix of another does not share history.
	s.RecordOutcome(state.FileRecord{Key: state.FileKey{Watch: watch, Path: "a/b"}, Outcome: state.OutcomeRefused, Reason: "empty file"})
	if fh, _ := s.FileHistory(state.FileKey{Watch: watch, Path: "a"}); len(fh) != 3 || fh[0].SHA256 != "h6" {
		t.Errorf("file history of a after a/b: %+v", fh)
	}
	if fh, _ := s.FileHistory(state.FileKey{Watch: watch, Path: "a/b"}); len(fh) != 1 || fh[0].Message != "empty file" {
		t.Errorf("file history of a/b: %+v", fh)
	}
}

func TestFiles(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	recs := []state.FileRecord{
		{Key: state.FileKey{Watch: "/w1", Path: "b.geojson"}, Size: 2, SHA256: "b"},
		{Key: state.FileKey{Watch: "/w1", Path: "a.geojson"}, Size: 1, SHA256: "a", Tileset: "u.a"},
		{Key: state.FileKey{Watch: "/w10", Path: "c.geojson"}, Size: 3},
		{Key: state.FileKey{Watch: "/w1", Path: "sub/d.mbtiles"}, Size: 4},
	}
	if err := s.PutFiles(recs); err != nil {
		t.Fatal(err)
	}
	var got []string
	s.Files("/w1", func(r state.FileRecord) error { got = append(got, r.Key.Path); return nil })
	if fmt.Sprint(got) != "[a.geojson b.geojson sub/d.mbtiles]" {
		t.Errorf("files of /w1: %v", got)
	}
	n := 0
	s.Files("", func(state.FileRecord) error { n++; return nil })
	if n != 4 {
		t.Errorf("all files: %d", n)
	}
	if err := s.PutFile(state.FileRecord{Key: state.FileKey{Watch: "/w1", Path: "bad\x00"}}); err == nil {
		t.Error("NUL in path accepted")
	}
	key := state.FileKey{Watch: "/w1", Path: "a.geojson"}
	s.RecordOutcome(state.FileRecord{Key: key, SHA256: "a", Tileset: "u.a", Outcome: state.OutcomeUnchanged})
	if err := s.RemoveFile(key); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.File(key); found {
		t.Error("removed file still there")
	}
	if fh, _ := s.FileHistory(key); len(fh) != 0 {
		t.Errorf("removed file keeps history %v", fh)
	}
}

func TestForgetFile(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})
	ok := mustOK(t)
	key := state.FileKey{Watch: watch, Path: "a"}
	nj := newJob("u.a", "a", "h1")
	nj.File = &state.FileRecord{Size: 1}
	r, _ := s.Enqueue(nj)
	ok(s.StartStaging(r.Job.ID))
	ok(s.MarkStaged(r.Job.ID, "h1"))
	ok(s.Created(r.Job.ID, "up", clk.Now()))
	ok(s.Done(r.Job.ID))
	if u, _ := s.Unchanged("u.a", "h1"); !u {
		t.Fatal("not recorded")
	}
	if err := s.ForgetFile(key); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Unchanged("u.a", "h1"); u {
		t.Error("forgotten content still unchanged")
	}
	if _, found, _ := s.File(key); found {
		t.Error("forgotten file still recorded")
	}
	if err := s.ForgetFile(key); err != nil {
		t.Errorf("forget twice: %v", err)
	}
}

func TestSnapshotAndIdentity(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})
	ok := mustOK(t)
	fillJobs(t, s, 5)
	ok(s.StartStaging(1))
	ok(s.SetCredentials(1, state.Credentials{SecretAccessKey: "SECRET", SessionToken: "TOKEN"}))
	s.RecordOutcome(state.FileRecord{Key: state.FileKey{Watch: watch, Path: "x.txt"}, Outcome: state.OutcomeRefused, Reason: "unsupported type"})
	snap, err := s.Snapshot(2)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Counts["queued"] != 4 || snap.Counts["staging"] != 1 || len(snap.Active) != 1 || len(snap.Queued) != 2 ||
		snap.Files != 1 || len(snap.Refused) != 1 || len(snap.Recent) != 1 || snap.Bytes == 0 {
		t.Errorf("snapshot %+v", snap)
	}
	if snap.Active[0].Credentials != nil {
		t.Error("snapshot carries credentials")
	}
	id, err := state.FileIdentityOf(s.Path())
	if err != nil || id == "" {
		t.Errorf("identity of the database file: %q %v", id, err)
	}
}

// TestConcurrent drives several tilesets from several goroutines, as the
// syncer's workers do; the race detector and the cleanup check judge it.
func TestConcurrent(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			ts := fmt.Sprint("u.w", w)
			for i := range 10 {
				r, err := s.Enqueue(newJob(ts, ts, fmt.Sprint("h", i)))
				if err == nil {
					_, err = s.StartStaging(r.Job.ID)
				}
				if err == nil {
					_, err = s.MarkStaged(r.Job.ID, r.Job.SHA256)
				}
				if err == nil {
					_, err = s.Created(r.Job.ID, "up", time.Now())
				}
				if err == nil {
					_, err = s.Done(r.Job.ID)
				}
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.Snapshot(5); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h, _ := s.RecentHistory(1000)
	if len(h) != 80 {
		t.Errorf("%d history entries, want 80", len(h))
	}
}
