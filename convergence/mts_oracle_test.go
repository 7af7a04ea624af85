package convergence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tilesyncd/tilesyncd/convert"
	"github.com/tilesyncd/tilesyncd/intake"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
)

// The MTS oracle (doc.go, "MTS"). Content is named by a key: the hash of
// what the features are and of the recipe (mtsKey). For a file, the
// features are those it converts to (convert.Convert, as the daemon
// does); for a job, those its source held when it started, and for an
// incremental rule the features of the last full job's source with each
// later changeset applied by id, in the order the jobs ran (the
// simulator keeps no feature: the oracle reads the uploads off the
// daemon's transport, testkit.MTSUploads).

// refusedKey is the key of a file the daemon refuses: no job builds it.
const refusedKey = "(refused)"

// mtsFile reads the MTS file at p as the daemon does: converted, and
// keyed with the rule's recipe; ok is false when it went away under the
// read. Content the conversion refuses (or without features) is
// recorded refused.
func (r *runner) mtsFile(p string, dec plan.Decision) (f fileState, ok bool) {
	f = fileState{tileset: dec.Tileset, mts: true}
	var buf bytes.Buffer
	st, err := convert.Convert(context.Background(), convert.Input{Path: p}, &buf)
	var ce *convert.Error
	switch {
	case errors.As(err, &ce):
		f.sha, f.refused = refusedKey, ce.Error()
		return f, true
	case err != nil:
		return f, false
	case st.Features == 0:
		f.sha, f.refused = refusedKey, "no features to publish"
		return f, true
	}
	if rc := string(dec.MTS.Recipe); !slices.Contains(r.recipes[f.tileset], rc) {
		r.recipes[f.tileset] = append(r.recipes[f.tileset], rc)
	}
	f.conv, f.base = st.SHA256, st.SHA256
	if r.h.mts.incremental {
		fs, err := parseFeatures(buf.Bytes())
		if err != nil {
			r.w.t.Fatalf("%s converts to what the checker cannot read: %v", p, err)
		}
		f.base = fs.canon()
	}
	f.stateSHA = state.MTSContentHash(st.SHA256, dec.MTS.Recipe)
	f.sha = mtsKey(f.base, dec.MTS.Recipe)
	return f, true
}

// splitMTS parts the files of the Uploads API from those of MTS.
func splitMTS(files []fileState) (uploads, mts []fileState) {
	for _, f := range files {
		if f.mts {
			mts = append(mts, f)
		} else {
			uploads = append(uploads, f)
		}
	}
	return uploads, mts
}

// jobKey is what a job built: its features' base and its key.
type jobKey struct{ base, key string }

// mtsJobKeys names what each job of tileset built (by job ID): for a rule
// without changesets every job that started, by the bytes its source
// held; for an incremental one every successful job, by replaying them.
// A job the checker cannot tell is left out, with the reason.
func (r *runner) mtsJobKeys(tileset string) (map[string]jobKey, []string) {
	keys := map[string]jobKey{}
	if !r.h.mts.incremental {
		for _, j := range r.w.srv.MTSJobs() {
			if j.Tileset == tileset && len(j.Inputs) > 0 && j.SHA256 != "" {
				keys[j.ID] = jobKey{j.SHA256, mtsKey(j.SHA256, j.Recipe)}
			}
		}
		return keys, nil
	}
	var problems []string
	var fs *featureSet
	for _, j := range r.w.srv.MTSHistory(tileset) {
		if len(j.Inputs) != 1 {
			problems = append(problems, fmt.Sprintf("%s: job %s read %d inputs, the recipe has one layer", tileset, j.ID, len(j.Inputs)))
			fs = nil
			continue
		}
		data, ok := r.w.wire.BySHA256(j.Inputs[0].SHA256)
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("its input %s (%.12s) is no upload the daemon sent", j.Inputs[0].URI, j.Inputs[0].SHA256)
		case !j.Changesets:
			fs, err = parseFeatures(data)
		case fs == nil:
			err = errors.New("a changeset on features the checker does not know")
		default:
			err = fs.apply(data)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: job %s: %v", tileset, j.ID, err))
			fs = nil
			continue
		}
		base := fs.canon()
		keys[j.ID] = jobKey{base, mtsKey(base, j.Recipe)}
	}
	return keys, problems
}

// checkMTS compares each MTS tileset a file maps to with the files, and
// the state's record of each file with it, and returns the divergences.
func (r *runner) checkMTS(files []fileState) []string {
	var problems []string
	byTileset, refusedAt := map[string][]fileState{}, map[string]bool{}
	for _, f := range files {
		if f.refused != "" {
			refusedAt[f.tileset] = true
		} else {
			byTileset[f.tileset] = append(byTileset[f.tileset], f)
		}
	}
	holds := map[string]string{}
	for _, ts := range slices.Sorted(maps.Keys(byTileset)) {
		keys, _ := r.mtsJobKeys(ts) // what it cannot tell is reported by judgeMTS
		held, ok := r.w.srv.HoldsMTS(ts)
		holds[ts] = keys[held.ID].key
		winners := r.winners(ts, byTileset[ts])
		if refusedAt[ts] {
			// Another file of it refused: if it was the winner, the
			// others are read again and one of them is sent (README,
			// "Conflicts"), so any may win.
			winners = byTileset[ts]
		}
		match := false
		for _, f := range winners {
			match = match || ok && holds[ts] == f.sha
		}
		if match {
			continue
		}
		var want []string
		for _, f := range byTileset[ts] {
			want = append(want, fmt.Sprintf("%s at %s", r.tl.label(f.sha), f))
		}
		got := "nothing"
		if ok {
			got = fmt.Sprintf("what job %s built: %s", held.ID, r.mtsLabel(keys[held.ID]))
		}
		problems = append(problems, fmt.Sprintf("%s holds %s; the folder holds %s", ts, got, strings.Join(want, " and ")))
	}
	for _, f := range files {
		if p := r.checkMTSRecord(f, len(byTileset[f.tileset]) > 1 || refusedAt[f.tileset], holds[f.tileset]); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// checkMTSRecord checks what the state says of the MTS file f: refused
// when the daemon cannot convert it, else published or unchanged with its
// content and recipe, and unchanged for plan. A conflict's loser (its
// tileset holds held, another file's) may be superseded, and its record
// may name its bytes with a recipe its tileset had before: a recipe
// edited since republishes the winner only.
func (r *runner) checkMTSRecord(f fileState, conflict bool, held string) string {
	cw := r.w.watchOf(f.watch)
	store := r.w.inproc.D.Store()
	rec, known, err := store.File(state.FileKey{Watch: cw.Path, Path: f.rel})
	loser := conflict && held != f.sha
	switch {
	case err != nil:
		return fmt.Sprintf("%s: the state: %v", f, err)
	case !known:
		return fmt.Sprintf("%s: the state has no record of it", f)
	case f.refused != "":
		if rec.Outcome != state.OutcomeRefused || rec.Tileset != f.tileset {
			return fmt.Sprintf("%s: the daemon cannot convert it (%s), and the state says %s for %s (reason %q)", f, f.refused, rec.Outcome, rec.Tileset, rec.Reason)
		}
		return ""
	case loser && rec.Outcome == state.OutcomeSuperseded && rec.Tileset == f.tileset && r.sameConversion(f, rec.SHA256):
		return "" // the README's rule records a conflict's loser superseded
	case rec.Tileset != f.tileset || (rec.Outcome != state.OutcomeUploaded && rec.Outcome != state.OutcomeUnchanged),
		rec.SHA256 != f.stateSHA && !(loser && r.sameConversion(f, rec.SHA256)):
		return fmt.Sprintf("%s: the state says %s of %.12s for %s (reason %q); the file is %s (state hash %.12s) for %s",
			f, rec.Outcome, rec.SHA256, rec.Tileset, rec.Reason, r.tl.label(f.sha), f.stateSHA, f.tileset)
	}
	if said, ok := intake.Settled(store, cw, f.rel, f.tileset); !ok || said != "unchanged" {
		return fmt.Sprintf("%s: plan would not call it unchanged (%q)", f, said)
	}
	return ""
}

// sameConversion reports whether the state's content hash sha is f's
// converted bytes with one of the recipes its tileset has had.
func (r *runner) sameConversion(f fileState, sha string) bool {
	for _, rc := range r.recipes[f.tileset] {
		if state.MTSContentHash(f.conv, []byte(rc)) == sha {
			return true
		}
	}
	return false
}

// judgeMTS judges every MTS job of the history: none failed, none built
// features never in the folders for its tileset, and none was needless
// (needlessOf, as for creates: a publish of what the tileset held
// already, or of content published before when the folder never went
// back to it).
func (r *runner) judgeMTS() (problems, needless []string) {
	jobs := r.w.srv.MTSJobs()
	keys := map[string]jobKey{}
	tilesets := map[string]bool{}
	for _, j := range jobs {
		tilesets[j.Tileset] = true
	}
	for _, ts := range slices.Sorted(maps.Keys(tilesets)) {
		k, p := r.mtsJobKeys(ts)
		maps.Copy(keys, k)
		problems = append(problems, p...)
	}
	var all []sent
	for _, j := range jobs {
		k := keys[j.ID]
		all = append(all, sent{id: j.ID, tileset: j.Tileset, key: k.key, created: j.Created, finished: j.Finished, complete: j.Stage == mapbox.JobSuccess})
		switch {
		case j.Stage == mapbox.JobFailed:
			problems = append(problems, fmt.Sprintf("+%v %s: job %s failed: %s", r.rel(j.Created), j.Tileset, j.ID, strings.Join(j.Errors, "; ")))
		case j.Stage == mapbox.JobSuccess && k.key != "" && !r.tl.seenBase(j.Tileset, k.base):
			problems = append(problems, fmt.Sprintf("+%v %s: job %s built features never in the folders for that tileset (%.12s)",
				r.rel(j.Created), j.Tileset, j.ID, k.base))
		}
	}
	return problems, r.needlessOf(all, "published", "job")
}

// seenBase reports whether a file held the features base for tileset at
// some observation, whatever the recipe was.
func (tl timeline) seenBase(tileset, base string) bool {
	for _, o := range tl {
		for _, f := range o.files {
			if f.tileset == tileset && f.base == base {
				return true
			}
		}
	}
	return false
}

// mtsBusy says which MTS job Mapbox still runs, or "".
func (r *runner) mtsBusy() string {
	if r.h.mts == nil {
		return ""
	}
	for _, j := range r.w.srv.MTSJobs() {
		if !j.Stage.Done() {
			return fmt.Sprintf("Mapbox's MTS job %s of %s is %s", j.ID, j.Tileset, j.Stage)
		}
	}
	return ""
}
