package state_test

import (
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// TestEndHeld ends jobs at each stage EndHeld takes: the tileset's record,
// the file's outcome and history follow, and the upload counts as known.
func TestEndHeld(t *testing.T) {
	s := statetest.Open(t, state.Options{Clock: newClock()})
	ok := mustOK(t)
	for _, tc := range []struct {
		name string
		move func(id uint64)
	}{
		{"queued", func(uint64) {}},
		{"staging", func(id uint64) { ok(s.StartStaging(id)) }},
		{"staged with a create sent", func(id uint64) {
			ok(s.StartStaging(id))
			ok(s.MarkStaged(id, "h-staged with a create sent"))
			ok(s.CreateSent(id, newClock().Now(), newClock().Now()))
		}},
		{"waiting to retry its staging", func(id uint64) {
			ok(s.StartStaging(id))
			ok(s.RetryLater(id, "lease held", newClock().Now()))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, path, sha := "u."+tc.name, tc.name+".geojson", "h-"+tc.name
			key := state.FileKey{Watch: watch, Path: path}
			nj := newJob(ts, path, sha)
			nj.File = &state.FileRecord{Key: key, Size: 100, ModTime: 1, SHA256: sha}
			res, err := s.Enqueue(nj)
			if err != nil {
				t.Fatal(err)
			}
			tc.move(res.Job.ID)
			j, err := s.EndHeld(res.Job.ID, "up-"+tc.name, "held: the fleet's ledger")
			if err != nil || j.Stage != state.StageDone {
				t.Fatalf("EndHeld: %v %v", j, err)
			}
			if _, found, _ := s.Job(j.ID); found {
				t.Errorf("the job is still queued")
			}
			if rec, _, _ := s.Tileset(ts); rec.SHA256 != sha || rec.UploadID != "up-"+tc.name {
				t.Errorf("tileset record: %+v", rec)
			}
			if rec, _, _ := s.File(key); rec.Outcome != state.OutcomeUnchanged {
				t.Errorf("file outcome %s, want unchanged", rec.Outcome)
			}
			if known, _ := s.KnownUpload(ts, "up-"+tc.name); !known {
				t.Errorf("the upload is not known")
			}
			hist, _ := s.TilesetHistory(ts)
			if len(hist) == 0 || hist[0].Outcome != state.OutcomeUnchanged || hist[0].Message != "held: the fleet's ledger" {
				t.Errorf("history: %+v", hist)
			}
		})
	}
}

// TestEndHeldRefused: a processing job, one that resumes at processing, and
// an empty upload ID are refused.
func TestEndHeldRefused(t *testing.T) {
	s := statetest.Open(t, state.Options{Clock: newClock()})
	ok := mustOK(t)
	res, err := s.Enqueue(newJob("u.p", "p.geojson", "hp"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Job.ID
	wantInvalid(t, "empty upload ID", second(s.EndHeld(id, "", "x")))
	ok(s.StartStaging(id))
	ok(s.MarkStaged(id, "hp"))
	ok(s.Created(id, "up1", newClock().Now()))
	wantInvalid(t, "processing", second(s.EndHeld(id, "up2", "x")))
	ok(s.RetryLater(id, "poll failed", newClock().Now()))
	wantInvalid(t, "retry-wait from processing", second(s.EndHeld(id, "up2", "x")))
}

func second[T any](_ T, err error) error { return err }
