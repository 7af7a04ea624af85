package state_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// fileJob is newJob with a file record, as the syncer queues.
func fileJob(tileset, path, sha string) state.NewJob {
	nj := newJob(tileset, path, sha)
	nj.File, nj.SkipHeld = &state.FileRecord{Size: 100}, true
	return nj
}

func outcome(t *testing.T, s *state.Store, path string) state.Outcome {
	t.Helper()
	rec, ok, err := s.File(state.FileKey{Watch: watch, Path: path})
	if err != nil || !ok {
		t.Fatalf("file %s: %v %v", path, ok, err)
	}
	return rec.Outcome
}

// upload runs a queued job through to done.
func upload(t *testing.T, s *state.Store, id uint64, sha, uploadID string) {
	t.Helper()
	ok := mustOK(t)
	ok(s.StartStaging(id))
	ok(s.MarkStaged(id, sha))
	ok(s.Created(id, uploadID, time.Now()))
	ok(s.Done(id))
}

// A file put back to the tileset's content while newer content is in flight
// is queued, not recorded unchanged (issue 12, case 2).
func TestEnqueueRevertWhileNewerInFlight(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	a, _ := s.Enqueue(fileJob("u.a", "f", "A"))
	upload(t, s, a.Job.ID, "A", "up-a")
	if r, _ := s.Enqueue(fileJob("u.a", "f", "A")); !r.Held {
		t.Fatalf("the tileset holds A: %+v", r)
	}
	b, _ := s.Enqueue(fileJob("u.a", "f", "B"))
	ok(s.StartStaging(b.Job.ID))
	r, err := s.Enqueue(fileJob("u.a", "f", "A"))
	if err != nil || r.Held || r.Existing || r.Job.Stage != state.StageQueued {
		t.Fatalf("A again while B is in flight: %+v %v", r, err)
	}
	if sha, _, _ := s.Destined("u.a"); sha != "A" {
		t.Errorf("destined %s, want A", sha)
	}
}

// Files that join a job take its outcome when it ends, and a job whose
// source is gone moves to a joined file (issue 12, case 3).
func TestJoinedFilesSettleWithTheJob(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	first, _ := s.Enqueue(fileJob("u.a", "old/f", "A"))
	moved, _ := s.Enqueue(fileJob("u.a", "new/f", "A"))
	if !moved.Existing || len(moved.Job.Joined) != 1 || moved.Job.Joined[0].Path != "new/f" {
		t.Fatalf("the moved file joins: %+v", moved)
	}
	ok(s.StartStaging(first.Job.ID))
	ok(s.RetryLater(first.Job.ID, "offline", time.Now()))
	if err := s.RemoveFile(state.FileKey{Watch: watch, Path: "old/f"}); err != nil {
		t.Fatal(err)
	}
	j := ok(s.Retarget(first.Job.ID))
	if j.Source.Path != "new/f" || len(j.Joined) != 1 || j.Joined[0].Path != "old/f" || j.Credentials != nil || j.Multipart != nil {
		t.Fatalf("retargeted: %+v", j)
	}
	if _, err := s.Retarget(first.Job.ID); !errors.Is(err, state.ErrNotFound) { // old/f is gone
		t.Fatalf("no other file left: %v", err)
	}
	ok(s.Resume(first.Job.ID))
	ok(s.MarkStaged(first.Job.ID, "A"))
	ok(s.Created(first.Job.ID, "up", time.Now()))
	ok(s.Done(first.Job.ID))
	if o := outcome(t, s, "new/f"); o != state.OutcomeUploaded {
		t.Errorf("new/f is %s, want uploaded", o)
	}

	// A copy that joined a job fails with it.
	c1, _ := s.Enqueue(fileJob("u.b", "c1", "C"))
	s.Enqueue(fileJob("u.b", "c2", "C"))
	ok(s.Fail(c1.Job.ID, "Tileset is empty."))
	if o := outcome(t, s, "c2"); o != state.OutcomeFailed {
		t.Errorf("c2 is %s, want failed", o)
	}
	if err := s.CheckPending(); err != nil {
		t.Fatal(err)
	}
}

// Only uploads not yet accounted for may be taken as a lost create's.
func TestKnownUpload(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	a, _ := s.Enqueue(fileJob("u.a", "f", "A"))
	upload(t, s, a.Job.ID, "A", "up-a")
	b, _ := s.Enqueue(fileJob("u.a", "f", "B"))
	upload(t, s, b.Job.ID, "B", "up-b")
	for _, c := range []struct {
		tileset, id string
		want        bool
	}{{"u.a", "up-b", true}, {"u.a", "up-a", true}, {"u.a", "up-c", false}, {"u.b", "up-a", false}} {
		if got, err := s.KnownUpload(c.tileset, c.id); err != nil || got != c.want {
			t.Errorf("KnownUpload(%s, %s) = %v %v, want %v", c.tileset, c.id, got, err, c.want)
		}
	}
}

// A create intent is forgotten when its attempt proved nothing was created.
func TestClearCreateSent(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	a, _ := s.Enqueue(fileJob("u.a", "f", "A"))
	ok(s.StartStaging(a.Job.ID))
	ok(s.MarkStaged(a.Job.ID, "A"))
	at, server := time.Now(), time.Now().Add(-10*time.Minute)
	j := ok(s.CreateSent(a.Job.ID, at, server))
	if !j.CreateSentAt.Equal(at) || !j.CreateSentServer.Equal(server) {
		t.Fatalf("recorded %v %v", j.CreateSentAt, j.CreateSentServer)
	}
	j = ok(s.ClearCreateSent(a.Job.ID))
	if !j.CreateSentAt.IsZero() || !j.CreateSentServer.IsZero() {
		t.Fatalf("not cleared: %v %v", j.CreateSentAt, j.CreateSentServer)
	}
	ok(s.Cancel(a.Job.ID, "nothing reached Mapbox"))
}

// A pending record with no job (as an older tilesyncd could leave) is
// reported by Check and repaired.
func TestRepairPending(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	rec := state.FileRecord{Key: state.FileKey{Watch: watch, Path: "f"}, Size: 1, ModTime: 5, SHA256: "A", Tileset: "u.a", Outcome: state.OutcomePending}
	if err := s.PutFile(rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Open's Check refuses what RepairPending mends: %v", err)
	}
	if err := s.CheckPending(); err == nil {
		t.Fatal("CheckPending accepts a pending record with no job")
	}
	if n, err := s.RepairPending(); err != nil || n != 1 {
		t.Fatalf("repaired %d: %v", n, err)
	}
	got, _, _ := s.File(rec.Key)
	if got.Outcome != "" || got.ModTime != 0 {
		t.Fatalf("after repair: %+v", got)
	}
	if err := s.CheckPending(); err != nil {
		t.Fatal(err)
	}
}

// Content Mapbox refused is not queued again when its file is only touched,
// and a failure stops being listed once the file is back to what the
// tileset holds.
func TestFailedContentIsNotSentAgain(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	a, _ := s.Enqueue(fileJob("u.a", "f", "A"))
	upload(t, s, a.Job.ID, "A", "up-a")
	c, _ := s.Enqueue(fileJob("u.a", "f", "C"))
	ok(s.Fail(c.Job.ID, "Tileset is empty."))
	r, err := s.Enqueue(fileJob("u.a", "f", "C")) // touched: same bytes
	if err != nil || !r.Existing || r.Job.ID != c.Job.ID || r.Job.Stage != state.StageFailed {
		t.Fatalf("the same refused content again: %+v %v", r, err)
	}
	if o := outcome(t, s, "f"); o != state.OutcomeFailed {
		t.Errorf("f is %s, want failed", o)
	}
	r, err = s.Enqueue(fileJob("u.a", "f", "A")) // back to what the tileset holds
	if err != nil || !r.Held || len(r.Superseded) != 1 {
		t.Fatalf("back to the held content: %+v %v", r, err)
	}
	if failed, _ := s.Failed(); len(failed) != 0 {
		t.Errorf("still listed as failed: %v", failed)
	}
}

// A file put back to the tileset's content while newer content waits in
// the queue (nothing in flight) supersedes the queued job and is recorded
// unchanged: nothing is created for content the tileset holds.
func TestEnqueueRevertWhileNewerQueued(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	a, _ := s.Enqueue(fileJob("u.a", "f", "A"))
	upload(t, s, a.Job.ID, "A", "up-a")
	b, _ := s.Enqueue(fileJob("u.a", "f", "B"))
	r, err := s.Enqueue(fileJob("u.a", "f", "A"))
	if err != nil || !r.Held || len(r.Superseded) != 1 || r.Superseded[0].ID != b.Job.ID {
		t.Fatalf("A again while B is queued: %+v %v", r, err)
	}
	if n, _ := s.Counts(); len(n) != 0 {
		t.Errorf("jobs left: %v", n)
	}
}

// A job queued behind one that then ends unsent, for content the tileset
// holds, is not sent when its turn comes (seed 7082 of the checker: v2
// cancelled while staging, the file back to v1 meanwhile).
func TestStartStagingSkipsHeldContent(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	a, _ := s.Enqueue(fileJob("u.a", "f", "A"))
	upload(t, s, a.Job.ID, "A", "up-a")
	b, _ := s.Enqueue(fileJob("u.a", "f", "B"))
	ok(s.StartStaging(b.Job.ID))
	back, _ := s.Enqueue(fileJob("u.a", "f", "A")) // queued behind B
	ok(s.Cancel(b.Job.ID, "the file changed while it was staged"))
	j := ok(s.StartStaging(back.Job.ID))
	if j.Stage != state.StageDone {
		t.Fatalf("A started although the tileset holds it: %v", j)
	}
	if o := outcome(t, s, "f"); o != state.OutcomeUnchanged {
		t.Errorf("f is %s, want unchanged", o)
	}
}

// Two files map to one tileset: when the tileset will hold the other
// file's content, LosesTo decides (the syncer asks which changed last), and
// a loser is recorded superseded, whatever order they are submitted in.
func TestConflictLosesTo(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	byB := func(other state.FileKey) bool { return other.Path == "b/p" }
	nb, _ := s.Enqueue(fileJob("u.a", "b/p", "B"))
	older := fileJob("u.a", "a/p", "A")
	older.LosesTo = byB
	r, err := s.Enqueue(older)
	if err != nil || r.Lost == nil || r.Lost.Path != "b/p" {
		t.Fatalf("a loser against a queued winner: %+v %v", r, err)
	}
	if o := outcome(t, s, "a/p"); o != state.OutcomeSuperseded {
		t.Errorf("a/p is %s, want superseded", o)
	}
	upload(t, s, nb.Job.ID, "B", "up-b")
	if r, _ := s.Enqueue(older); r.Lost == nil {
		t.Fatalf("a loser against the uploaded winner: %+v", r)
	}
	touched := fileJob("u.a", "a/p", "A")
	touched.LosesTo = func(state.FileKey) bool { return false }
	if r, _ := s.Enqueue(touched); r.Lost != nil || r.Job.Stage != state.StageQueued {
		t.Fatalf("a winner: %+v", r)
	}
}

// A copy of the content the tileset holds is not a loser, however its
// times compare with the file that made it (a copy made within one tick of
// the file system's clock ties, and a tie goes to the other file): it is
// recorded unchanged, as the content is the tileset's.
func TestConflictCopyOfTheHeldContent(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	b, _ := s.Enqueue(fileJob("u.a", "b/p", "B"))
	upload(t, s, b.Job.ID, "B", "up-b")
	copied := fileJob("u.a", "a/p", "B")
	copied.SkipHeld = true
	copied.LosesTo = func(state.FileKey) bool { return true }
	if r, err := s.Enqueue(copied); err != nil || r.Lost != nil || !r.Held {
		t.Fatalf("a copy of the held content: %+v %v; want held, not lost", r, err)
	}
	if o := outcome(t, s, "a/p"); o != state.OutcomeUnchanged {
		t.Errorf("a/p is %s, want unchanged", o)
	}
}

// TestCancelGoneTakesAFileThatJoinedMeanwhile: the sender finds a job's file
// gone and, in one transaction, moves the job to a file that joined it in
// the meantime instead of cancelling that file's content with it (seed
// 410238775605 of make chaos: a move right after a revert lost the moved
// copy); with no such file, the job is cancelled.
func TestCancelGoneTakesAFileThatJoinedMeanwhile(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	first, _ := s.Enqueue(fileJob("u.a", "b/p", "A"))
	ok(s.StartStaging(first.Job.ID))
	// The sender's staging finds b/p gone; before it settles the job,
	// intake reads the moved copy a/p, which joins the job.
	if err := s.RemoveFile(state.FileKey{Watch: watch, Path: "b/p"}); err != nil {
		t.Fatal(err)
	}
	if joined, _ := s.Enqueue(fileJob("u.a", "a/p", "A")); !joined.Existing {
		t.Fatalf("the moved copy joins the job: %+v", joined)
	}
	j, retargeted, err := s.CancelGone(first.Job.ID, "removed")
	if err != nil || !retargeted || j.Source.Path != "a/p" || j.Stage == state.StageDone {
		t.Fatalf("CancelGone with a joined copy: %+v retargeted %v, %v; want the job moved to a/p", j, retargeted, err)
	}
	if o := outcome(t, s, "a/p"); o != state.OutcomePending {
		t.Errorf("a/p is %s, want pending (its job goes on)", o)
	}
	// With no file left that holds the content, the job is cancelled.
	if err := s.RemoveFile(state.FileKey{Watch: watch, Path: "a/p"}); err != nil {
		t.Fatal(err)
	}
	if j, retargeted, err := s.CancelGone(first.Job.ID, "removed"); err != nil || retargeted || j.Stage != state.StageDone {
		t.Fatalf("CancelGone with no copy: %+v retargeted %v, %v; want cancelled", j, retargeted, err)
	}
}

// TestCompetitorIsAJoinedCopy: the job in flight for a tileset came from a
// file that has since moved (its old path removed, the new one joined to
// the job). Another file mapping to the tileset, which changed earlier,
// must lose to the moved copy, not be queued behind the job as if nothing
// held its content (seed 410238778355 of make chaos).
func TestCompetitorIsAJoinedCopy(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	f0, _ := s.Enqueue(fileJob("u.p", "a/p.json", "X"))
	ok(s.StartStaging(f0.Job.ID))
	if moved, _ := s.Enqueue(fileJob("u.p", "b/sub/p.json", "X")); !moved.Existing {
		t.Fatalf("the moved copy joins the job in flight: %+v", moved)
	}
	if err := s.RemoveFile(state.FileKey{Watch: watch, Path: "a/p.json"}); err != nil {
		t.Fatal(err)
	}
	f2 := fileJob("u.p", "b/sub/p.geojson", "Y")
	var asked []string
	f2.LosesTo = func(other state.FileKey) bool { asked = append(asked, other.Path); return other.Path == "b/sub/p.json" }
	r, err := s.Enqueue(f2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Lost == nil || r.Lost.Path != "b/sub/p.json" {
		t.Fatalf("the earlier-changed file against the moved copy: %+v (asked about %v); want it lost to b/sub/p.json", r, asked)
	}
}

// TestHeldCopyBecomesTheSource: the file whose content the tileset holds
// is moved after its upload; the copy at the new path is found unchanged
// and becomes the content's source, so that another file of the tileset
// that changed earlier still loses to it (seed 615417748781 of make
// chaos: the moved file's old path was the last upload's source, and the
// other file, read again after the removal, was sent over it).
func TestHeldCopyBecomesTheSource(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	f1, _ := s.Enqueue(fileJob("u.q", "a/q.json", "X"))
	upload(t, s, f1.Job.ID, "X", "up1")
	if err := s.RemoveFile(state.FileKey{Watch: watch, Path: "a/q.json"}); err != nil {
		t.Fatal(err)
	}
	if moved, _ := s.Enqueue(fileJob("u.q", "a/sub/q.json", "X")); !moved.Held {
		t.Fatalf("the moved file: %+v, want it held", moved)
	}
	f2 := fileJob("u.q", "b/q.json", "Y")
	var asked []string
	f2.LosesTo = func(other state.FileKey) bool { asked = append(asked, other.Path); return other.Path == "a/sub/q.json" }
	r, err := s.Enqueue(f2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Lost == nil || r.Lost.Path != "a/sub/q.json" {
		t.Fatalf("the earlier-changed file against the moved one: %+v (asked about %v); want it lost to a/sub/q.json", r, asked)
	}
	if _, from, ok, err := s.DestinedFrom("u.q"); err != nil || !ok || from.Path != "a/sub/q.json" {
		t.Errorf("DestinedFrom = %v, %v, %v; want the moved file", from, ok, err)
	}
}

// TestSupersedeUnsent: a staged job whose create was never sent gives way
// to newer content queued behind it, unless that content is what the
// tileset holds (a revert: the staged bytes go first) or a create was sent.
func TestSupersedeUnsent(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	ok := mustOK(t)
	first, _ := s.Enqueue(fileJob("u.p", "p.json", "A"))
	upload(t, s, first.Job.ID, "A", "up1")

	b, _ := s.Enqueue(fileJob("u.p", "p.json", "B"))
	ok(s.StartStaging(b.Job.ID))
	ok(s.MarkStaged(b.Job.ID, "B"))
	if _, replaced, err := s.SupersedeUnsent(b.Job.ID); err != nil || replaced {
		t.Fatalf("nothing newer queued: replaced %v, %v", replaced, err)
	}
	back, _ := s.Enqueue(fileJob("u.p", "p.json", "A")) // put back: queued behind B
	if back.Held || back.Existing {
		t.Fatalf("the revert: %+v, want it queued behind B", back)
	}
	if _, replaced, err := s.SupersedeUnsent(b.Job.ID); err != nil || replaced {
		t.Fatalf("the newer content is the tileset's: replaced %v, %v; want B sent first", replaced, err)
	}
	c, _ := s.Enqueue(fileJob("u.p", "p.json", "C")) // supersedes the queued revert
	j, replaced, err := s.SupersedeUnsent(b.Job.ID)
	if err != nil || !replaced || j.ID != b.Job.ID {
		t.Fatalf("C queued behind unsent B: replaced %v (%+v), %v", replaced, j, err)
	}
	if _, found, _ := s.Job(b.Job.ID); found {
		t.Errorf("job B is still there")
	}
	if started, err := s.StartStaging(c.Job.ID); err != nil || started.Stage != state.StageStaging {
		t.Errorf("C could not start once B gave way: %+v, %v", started, err)
	}

	// A create sent: the job may exist at Mapbox and is never superseded.
	ok(s.MarkStaged(c.Job.ID, "C"))
	ok(s.CreateSent(c.Job.ID, time.Now(), time.Time{}))
	s.Enqueue(fileJob("u.p", "p.json", "D"))
	if _, replaced, _ := s.SupersedeUnsent(c.Job.ID); replaced {
		t.Errorf("a job whose create was sent was superseded")
	}
}
