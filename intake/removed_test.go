package intake

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// conflict is a drop folder with two files that map to one tileset, for
// the tests of a removal: write them, make one later than the other, and
// ingest events.
type conflict struct {
	t    *testing.T
	in   *Intake
	drop string
}

func (c conflict) write(rel, text string) {
	c.t.Helper()
	abs := filepath.Join(c.drop, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(abs, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// writeLater writes rel until it changed after other (the file system's
// clock is coarse).
func (c conflict) writeLater(rel, text, other string) {
	c.t.Helper()
	changed := func(rel string) time.Time {
		fi, err := os.Stat(filepath.Join(c.drop, filepath.FromSlash(rel)))
		if err != nil {
			c.t.Fatal(err)
		}
		return changedAt(fi)
	}
	for c.write(rel, text); !changed(rel).After(changed(other)); {
		c.write(rel, text)
	}
}

func (c conflict) ingest(rel string, kind watcher.Kind) {
	c.t.Helper()
	if err := c.in.Ingest(context.Background(), watcher.Event{Root: c.drop, Rel: rel, Kind: kind}); err != nil {
		c.t.Fatalf("ingest %s: %v", rel, err)
	}
}

func (c conflict) key(rel string) state.FileKey { return state.FileKey{Watch: c.drop, Path: rel} }

// lostTo checks that l is recorded as having lost to w (superseded) and
// that w's job is the only one, and returns it.
func (c conflict) lostTo(l, w string) state.Job {
	c.t.Helper()
	if rec, _, _ := c.in.store.File(c.key(l)); rec.Outcome != state.OutcomeSuperseded {
		c.t.Fatalf("%s's record: %q, want superseded (it lost to %s)", l, rec.Outcome, w)
	}
	jobs := c.jobs()
	if len(jobs) != 1 || jobs[0].Source != c.key(w) {
		c.t.Fatalf("jobs %v, want %s's alone", jobs, w)
	}
	return jobs[0]
}

// jobs returns the jobs not ended.
func (c conflict) jobs() []state.Job {
	c.t.Helper()
	jobs, err := c.in.store.ListJobs(state.JobFilter{})
	if err != nil {
		c.t.Fatal(err)
	}
	return jobs
}

// Two files map to one tileset; the one that changed later (W) wins and is
// queued, the other (L) is recorded as having lost to it. W is removed
// while its job is being staged, and the sender, finding it gone, cancels
// the job before intake takes the removal. Taking it must still hand the
// tileset to L: W's content will never be sent. (The convergence checker's
// seed 687792315319: L stayed "superseded" and the tileset empty.)
func TestRemovedAfterItsJobWasCancelled(t *testing.T) {
	in, drop, _ := newRulesIntake(t, "  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n")
	c := conflict{t: t, in: in, drop: drop}
	lRel, wRel := "b/p.geojson", "a/p.geojson"
	c.write(lRel, `{"type":"FeatureCollection","features":[],"v":"L"}`)
	c.writeLater(wRel, `{"type":"FeatureCollection","features":[],"v":"W"}`, lRel)
	c.ingest(wRel, watcher.Ready)
	c.ingest(lRel, watcher.Ready)
	w := c.lostTo(lRel, wRel)
	if err := os.Remove(filepath.Join(drop, filepath.FromSlash(wRel))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.store.CancelGone(w.ID, "the file was removed before it was sent"); err != nil {
		t.Fatal(err)
	}
	c.ingest(wRel, watcher.Removed)
	if !slices.Contains(in.rereads, c.key(lRel)) {
		t.Errorf("L is not read again after W, its winner, was removed (read again: %v)", in.rereads)
	}
}

// Two files map to one MTS tileset, which holds the older one's (K1)
// content. The newer (K2) is queued, then the recipe changes (a reload):
// K2 is queued again with it, and K1, found unchanged against what the
// tileset will hold, is not. K2 is removed before it is sent: K1 must be
// read again and published with the new recipe, although its content is
// the one the tileset holds (under the old recipe). (The checker's seed
// 111400393964: the tileset kept the old recipe's build.)
func TestRemovedWinnerAfterARecipeChange(t *testing.T) {
	rule := "  - match: \"**\"\n    target: mts\n    tileset: \"{username}.{stem}\"\n    recipe: r.json\n"
	in, drop, _ := newRulesIntake(t, rule)
	c := conflict{t: t, in: in, drop: drop}
	k1, k2 := "a/k.geojson", "b/k.geojson"
	c.write(k1, `{"type":"FeatureCollection","features":[`+point+`]}`)
	c.ingest(k1, watcher.Ready)
	first := c.jobs()
	if len(first) != 1 {
		t.Fatalf("jobs %v, want K1's", first)
	}
	upload(t, in.store, first[0])
	c.writeLater(k2, `{"type":"FeatureCollection","features":[`+point+`,`+point+`]}`, k1)
	c.ingest(k2, watcher.Ready)

	// The recipe changes: the daemon reloads with a new intake on the same
	// state, and its startup scan reports both files.
	dir := filepath.Dir(drop)
	if err := os.WriteFile(filepath.Join(dir, "r.json"), []byte(`{"version": 1, "layers": {"l": {"source": "{source}", "minzoom": 0, "maxzoom": 6}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "config.yaml"), config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.in, err = New(Options{Config: cfg, Store: in.store, SpoolDir: filepath.Join(dir, "spool")}); err != nil {
		t.Fatal(err)
	}
	c.ingest(k2, watcher.Ready)
	c.ingest(k1, watcher.Ready)
	if jobs := c.jobs(); len(jobs) != 1 || jobs[0].Source != c.key(k2) {
		t.Fatalf("jobs %v, want K2's alone, with the new recipe", jobs)
	}

	if err := os.Remove(filepath.Join(drop, filepath.FromSlash(k2))); err != nil {
		t.Fatal(err)
	}
	c.ingest(k2, watcher.Removed)
	if !slices.Contains(c.in.rereads, c.key(k1)) {
		t.Fatalf("K1 is not read again after K2 was removed (read again: %v)", c.in.rereads)
	}
	c.ingest(k1, watcher.Ready)
	jobs := c.jobs()
	if len(jobs) != 1 || jobs[0].Source != c.key(k1) || jobs[0].SHA256 == first[0].SHA256 {
		t.Errorf("jobs %v, want K1's with the new recipe (not %.12s, its content under the old one)", jobs, first[0].SHA256)
	}
}

// upload runs a queued job through to done, as the sender would.
func upload(t *testing.T, s *state.Store, j state.Job) {
	t.Helper()
	steps := []func() (state.Job, error){
		func() (state.Job, error) { return s.StartStaging(j.ID) },
		func() (state.Job, error) { return s.MarkStaged(j.ID, j.SHA256) },
		func() (state.Job, error) { return s.Created(j.ID, "cj-first", time.Now()) },
		func() (state.Job, error) { return s.Done(j.ID) },
	}
	for _, step := range steps {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
}
