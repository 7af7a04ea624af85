package state_test

import (
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// An MTS job keeps its target, source and recipe through the queue, a
// retry and a publish; its result goes to the history and its recipe to
// the tileset's record, which ExpectedRecipe reads.
func TestMTSJob(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})
	ok := mustOK(t)
	recipe := []byte(`{"layers":{"a":{"maxzoom":10,"minzoom":0,"source":"mapbox://tileset-source/u/a"}},"version":1}`)
	sha := state.MTSContentHash("c0ffee", recipe)
	if sha == state.MTSContentHash("c0ffee", append(recipe[:len(recipe):len(recipe)], ' ')) || sha == state.MTSContentHash("c0ffef", recipe) {
		t.Fatal("the content hash does not depend on both the bytes and the recipe")
	}
	nj := newJob("u.a", "a.geojson", sha)
	nj.Target, nj.SourceID, nj.Recipe = state.TargetMTS, "a", recipe
	res, err := s.Enqueue(nj)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Job.ID
	if _, ok, _ := s.ExpectedRecipe("u.a"); !ok {
		t.Error("ExpectedRecipe: no recipe for a queued MTS job")
	}
	ok(s.StartStaging(id))
	ok(s.MarkStaged(id, sha))
	ok(s.CreateSent(id, clk.Now(), time.Time{}))
	ok(s.Created(id, "job1", clk.Now()))
	ok(s.Fail(id, "Mapbox could not publish"))
	j := ok(s.Retry(id))
	if j.Target != state.TargetMTS || j.SourceID != "a" || string(j.Recipe) != string(recipe) {
		t.Fatalf("retried job %+v lost its MTS fields", j)
	}
	ok(s.StartStaging(id))
	ok(s.MarkStaged(id, sha))
	ok(s.Created(id, "job2", clk.Now()))
	// Superseded at Mapbox: the job follows the newer publish job.
	j = ok(s.Follow(id, "job3", clk.Now(), "superseded by job3"))
	if j.UploadID != "job3" {
		t.Errorf("following: upload ID %q", j.UploadID)
	}
	if known, _ := s.KnownUpload("u.a", "job2"); !known {
		t.Error("the superseded job is not known: recovery could take it")
	}
	_, err = s.Follow(id, "job3", clk.Now(), "again")
	wantInvalid(t, "follow the job it follows", err)
	ok(s.MTSFinished(id, 3.3, []string{"W201 dropped"}))
	ok(s.Done(id))
	rec, found, _ := s.Tileset("u.a")
	if !found || rec.Recipe != state.RecipeHash(recipe) || rec.UploadID != "job3" {
		t.Errorf("tileset record %+v", rec)
	}
	if h, ok, _ := s.ExpectedRecipe("u.a"); !ok || h != state.RecipeHash(recipe) {
		t.Errorf("ExpectedRecipe = %q %v after the publish", h, ok)
	}
	hist, _ := s.TilesetHistory("u.a")
	if e := hist[0]; e.Outcome != state.OutcomeUploaded || e.Target != state.TargetMTS || e.CU != 3.3 || len(e.Warnings) != 1 {
		t.Errorf("history %+v", e)
	}
	// An Uploads API tileset has no recipe.
	if _, ok, _ := s.ExpectedRecipe("u.other"); ok {
		t.Error("ExpectedRecipe of an unknown tileset")
	}
}
