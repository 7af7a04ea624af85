package intake

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// Two files map to one tileset; the one that changed later (W) wins and is
// queued, the other (L) is recorded as having lost to it. W is removed
// while its job is being staged, and the sender, finding it gone, cancels
// the job before intake takes the removal. Taking it must still hand the
// tileset to L: W's content will never be sent. (The convergence checker's
// seed 687792315319: L stayed "superseded" and the tileset empty.)
func TestRemovedAfterItsJobWasCancelled(t *testing.T) {
	in, drop, _ := newRulesIntake(t, "  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n")
	ctx := context.Background()
	store := in.store
	lRel, wRel := "b/p.geojson", "a/p.geojson"
	write := func(rel, text string) {
		abs := filepath.Join(drop, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	changed := func(rel string) int64 {
		fi, err := os.Stat(filepath.Join(drop, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return changedAt(fi).UnixNano()
	}
	write(lRel, `{"type":"FeatureCollection","features":[],"v":"L"}`)
	// The file system's clock is coarse: W is written until it is later.
	for write(wRel, `{"type":"FeatureCollection","features":[],"v":"W"}`); changed(wRel) <= changed(lRel); {
		write(wRel, `{"type":"FeatureCollection","features":[],"v":"W"}`)
	}
	ingest := func(rel string, kind watcher.Kind) {
		t.Helper()
		if err := in.Ingest(ctx, watcher.Event{Root: drop, Rel: rel, Kind: kind}); err != nil {
			t.Fatalf("ingest %s: %v", rel, err)
		}
	}
	ingest(wRel, watcher.Ready)
	ingest(lRel, watcher.Ready)
	lKey, wKey := state.FileKey{Watch: drop, Path: lRel}, state.FileKey{Watch: drop, Path: wRel}
	if rec, _, _ := store.File(lKey); rec.Outcome != state.OutcomeSuperseded {
		t.Fatalf("L's record: %q, want superseded (it lost to W)", rec.Outcome)
	}
	jobs, err := store.ListJobs(state.JobFilter{})
	if err != nil || len(jobs) != 1 || jobs[0].Source != wKey {
		t.Fatalf("jobs %v (%v), want W's alone", jobs, err)
	}
	if err := os.Remove(filepath.Join(drop, filepath.FromSlash(wRel))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.CancelGone(jobs[0].ID, "the file was removed before it was sent"); err != nil {
		t.Fatal(err)
	}
	ingest(wRel, watcher.Removed)
	if !slices.Contains(in.rereads, lKey) {
		t.Errorf("L is not read again after W, its winner, was removed (read again: %v)", in.rereads)
	}
}
