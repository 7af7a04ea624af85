package convergence

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"

	"github.com/tilesyncd/tilesyncd/intake"
)

// fileState is one file the rules send to a tileset, as the folder holds it.
type fileState struct {
	watch, rel, tileset string
	sha                 string // of the bytes the daemon must send; an MTS file's content key (mtsKey)
	slot                int    // which of the history's files
	label               string // the slot and version, for people
	// An MTS file's: the SHA-256 of its converted bytes, what its
	// features are (base: conv, or for an incremental rule the hash of
	// their canonical set), its content hash as the state records it,
	// and why the daemon refuses it ("" when it does not).
	mts                           bool
	conv, base, stateSHA, refused string
}

func (f fileState) String() string { return f.watch + "/" + f.rel }

// observation is what the folders held at one moment.
type observation struct {
	at    time.Time
	files []fileState
}

// timeline is every observation of a history, oldest first.
type timeline []observation

// firstSeen is when content sha was first in the folders for tileset.
func (tl timeline) firstSeen(tileset, sha string) (time.Time, bool) {
	for _, o := range tl {
		for _, f := range o.files {
			if f.tileset == tileset && f.sha == sha {
				return o.at, true
			}
		}
	}
	return time.Time{}, false
}

// heldAfter reports whether content sha was in the folders for tileset at
// some observation after t.
func (tl timeline) heldAfter(tileset, sha string, t time.Time) bool {
	for _, o := range tl {
		if !o.at.After(t) {
			continue
		}
		for _, f := range o.files {
			if f.tileset == tileset && f.sha == sha {
				return true
			}
		}
	}
	return false
}

// steadySince is when the file of slot began to hold sha for tileset
// without a break up to the last observation; a move within the tileset
// breaks it only when byPath. An MTS file holds the same while its
// features do (a recipe edited is no change of the file).
func (tl timeline) steadySince(tileset string, f fileState, byPath bool) time.Time {
	var since time.Time
	for i := len(tl) - 1; i >= 0; i-- {
		if !slices.ContainsFunc(tl[i].files, func(g fileState) bool {
			same := g.sha == f.sha || f.mts && g.base == f.base
			return g.tileset == tileset && g.slot == f.slot && same && (!byPath || g.watch == f.watch && g.rel == f.rel)
		}) {
			break
		}
		since = tl[i].at
	}
	return since
}

// leftAfter reports whether a file that mapped to tileset at an
// observation after t maps to it no more (removed, moved or renamed away).
func (tl timeline) leftAfter(tileset string, t time.Time) bool {
	if len(tl) == 0 {
		return false
	}
	last := tl[len(tl)-1].files
	for _, o := range tl {
		if !o.at.After(t) {
			continue
		}
		for _, f := range o.files {
			if f.tileset == tileset && !slices.ContainsFunc(last, func(g fileState) bool { return g.tileset == tileset && g.slot == f.slot }) {
				return true
			}
		}
	}
	return false
}

// label names content sha for people, from the first file seen holding it.
func (tl timeline) label(sha string) string {
	if sha == "" {
		return "(no staged object)"
	}
	for _, o := range tl {
		for _, f := range o.files {
			if f.sha == sha {
				return fmt.Sprintf("%.12s = %s", sha, f.label)
			}
		}
	}
	return fmt.Sprintf("%.12s = never in the folders", sha)
}

// The final wait: the folder untouched for quietAfterTouch, the daemon idle,
// Mapbox processing nothing and no request for quietRequests — for
// quietFor with the guarantee holding (converged), or for divergeAfter
// with it failing (diverged: longer than two full rescans, so a missed
// notification has been caught), or nothing settles within quietDeadline.
const (
	quietAfterTouch = 3 * settle
	quietRequests   = 200 * time.Millisecond
	quietFor        = 500 * time.Millisecond
	divergeAfter    = 3 * rescanInterval
	quietDeadline   = 40 * time.Second
)

// verdict is the outcome of one history.
type verdict struct {
	problems  []string // divergences from the guarantee
	needless  []string // creates the guarantee forbids
	publishes []string // MTS publishes the guarantee forbids (judgeMTS)
	report    string   // everything a reader needs, when either is not empty
}

func (v verdict) ok() bool {
	return len(v.problems) == 0 && len(v.needless) == 0 && len(v.publishes) == 0
}

// finish ends the history: faults cleared, the binary (if any) killed and
// the daemon run in this process, the folder left alone; then it waits for
// quiescence and judges.
func (r *runner) finish() verdict {
	w := r.w
	w.srv.ClearFaults()
	w.srv.SetRateLimit(0, 0)
	w.s3.SetCut(false)
	w.kill()
	if w.inproc == nil {
		w.startInproc()
	}
	deadline := time.Now().Add(quietDeadline)
	var since time.Time // when every quiet condition began to hold
	var problems []string
	var lastCheck time.Time
	for {
		now := time.Now()
		why := r.busy(now)
		if why != "" {
			since = time.Time{}
		} else if since.IsZero() {
			since = now
		}
		if why == "" && now.Sub(lastCheck) >= 100*time.Millisecond {
			lastCheck = now
			problems = r.check()
			quiet := now.Sub(since)
			if len(problems) == 0 && quiet >= quietFor || quiet >= divergeAfter {
				break
			}
		}
		if now.After(deadline) {
			problems = append(r.check(), fmt.Sprintf("not quiet after %v: %s", quietDeadline, why))
			break
		}
		time.Sleep(20 * time.Millisecond) // a poll tick, not a wait for an event
	}
	if err := errors.Join(w.inproc.D.Store().Check(), w.inproc.D.Store().CheckPending()); err != nil {
		problems = append(problems, fmt.Sprintf("the state's consistency check: %v", err))
	}
	w.stopInproc()
	if strings.Contains(w.logs.String(), token) {
		problems = append(problems, "the token appears in the daemon's log")
	}
	v := verdict{problems: problems, needless: r.needless(w.srv.Uploads())}
	v.problems = append(v.problems, r.foreign(w.srv.Uploads())...)
	if r.h.mts != nil {
		problems, publishes := r.judgeMTS()
		v.problems, v.publishes = append(v.problems, problems...), publishes
	}
	if !v.ok() {
		v.report = r.report(v)
	}
	return v
}

// busy says why the world is not quiet yet, or "".
func (r *runner) busy(now time.Time) string {
	w := r.w
	if d := now.Sub(r.touch); d < quietAfterTouch {
		return "the folder changed " + d.Round(time.Millisecond).String() + " ago"
	}
	// The daemon's own account of the work it has in hand that no job
	// shows yet: files settling or waiting for intake, and intake taking
	// one (a state database slow to write, under load, keeps it there).
	for _, wt := range w.inproc.D.Watchers() {
		if st := wt.Status(); st.Pending > 0 || st.Queued > 0 {
			return fmt.Sprintf("the watcher has %d files settling and %d waiting for intake", st.Pending, st.Queued)
		}
	}
	if w.inproc.D.Intake().Busy() {
		return "intake is taking a file"
	}
	idle, err := w.inproc.D.Syncer().Idle()
	if err != nil || !idle {
		return fmt.Sprintf("the daemon has jobs queued or in flight (%v)", err)
	}
	for _, u := range w.srv.Uploads() {
		if u.Finished.IsZero() {
			return "Mapbox is processing upload " + u.ID
		}
	}
	if why := r.mtsBusy(); why != "" {
		return why
	}
	snow := w.serverNow()
	if reqs := w.srv.Requests(); len(reqs) > 0 {
		if d := snow.Sub(reqs[len(reqs)-1].Time); d < quietRequests {
			return "an API request " + d.Round(time.Millisecond).String() + " ago"
		}
	}
	return ""
}

// conflictMargin is how close two changes may be and still be in either
// order for the daemon: each is seen once it has settled.
const conflictMargin = 2*settle + 200*time.Millisecond

// winners are the files of fs (all those that map to tileset) whose bytes
// the tileset may hold, by the README's rule for conflicts ("Conflicts"):
// the content of the file that changed last wins. Changes closer than
// conflictMargin count as either order; a move within the tileset counts
// as a change or not (the README does not say); when a file of the tileset
// has gone away since, the others are read again and one of them is sent,
// so any may win.
func (r *runner) winners(tileset string, fs []fileState) []fileState {
	if len(fs) < 2 {
		return fs
	}
	var out []fileState
	for _, byPath := range []bool{false, true} {
		since := make([]time.Time, len(fs))
		var newest time.Time
		for i, f := range fs {
			since[i] = r.tl.steadySince(tileset, f, byPath)
			if since[i].After(newest) {
				newest = since[i]
			}
		}
		if r.tl.leftAfter(tileset, newest.Add(-conflictMargin)) {
			return fs
		}
		for i, f := range fs {
			if !since[i].Before(newest.Add(-conflictMargin)) && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// check compares the folders with what each tileset holds and with what
// the state says of each file, and returns the divergences.
func (r *runner) check() []string {
	w := r.w
	files, err := r.scan()
	if err != nil {
		return []string{fmt.Sprintf("scan the folders: %v", err)}
	}
	files, mtsFiles := splitMTS(files)
	problems := r.checkMTS(mtsFiles)
	byTileset := map[string][]fileState{}
	for _, f := range files {
		byTileset[f.tileset] = append(byTileset[f.tileset], f)
	}
	for _, ts := range slices.Sorted(maps.Keys(byTileset)) {
		fs := byTileset[ts]
		held, ok := w.srv.Holds(ts)
		match := false
		for _, f := range r.winners(ts, fs) {
			match = match || ok && held.SHA256 == f.sha
		}
		if match {
			continue
		}
		var want []string
		for _, f := range fs {
			want = append(want, fmt.Sprintf("%s at %s", r.tl.label(f.sha), f))
		}
		got := "nothing"
		if ok {
			got = fmt.Sprintf("%s (upload %s)", r.tl.label(held.SHA256), held.ID)
		}
		problems = append(problems, fmt.Sprintf("%s holds %s; the folder holds %s", ts, got, strings.Join(want, " and ")))
	}
	store := w.inproc.D.Store()
	for _, f := range files {
		cw := w.watchOf(f.watch)
		rec, known, err := store.File(state.FileKey{Watch: cw.Path, Path: f.rel})
		held, _ := w.srv.Holds(f.tileset)
		switch {
		case known && rec.Outcome == state.OutcomeSuperseded && len(byTileset[f.tileset]) > 1 && held.SHA256 != f.sha && rec.SHA256 == f.sha:
			// A conflict's loser: the README's rule records it superseded.
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: the state: %v", f, err))
		case !known:
			problems = append(problems, fmt.Sprintf("%s: the state has no record of it", f))
		case rec.SHA256 != f.sha || rec.Tileset != f.tileset || (rec.Outcome != state.OutcomeUploaded && rec.Outcome != state.OutcomeUnchanged):
			problems = append(problems, fmt.Sprintf("%s: the state says %s of %s for %s (reason %q); the file is %s for %s",
				f, rec.Outcome, r.tl.label(rec.SHA256), rec.Tileset, rec.Reason, r.tl.label(f.sha), f.tileset))
		default:
			if said, ok := intake.Settled(store, cw, f.rel, f.tileset); !ok || said != "unchanged" {
				disk := "gone"
				if fi, err := os.Stat(filepath.Join(cw.Path, filepath.FromSlash(f.rel))); err == nil {
					disk = fmt.Sprintf("size %d, mtime %d, id %s", fi.Size(), fi.ModTime().UnixNano(), state.FileIdentity(fi))
				}
				problems = append(problems, fmt.Sprintf("%s: plan would not call it unchanged (%q): the state's record has size %d, mtime %d, id %s; the file %s",
					f, said, rec.Size, rec.ModTime, rec.FileID, disk))
			}
		}
	}
	return problems
}

// needless lists the creates the guarantee forbids: content created for a
// tileset that held it already, and content created again when the folder
// never went back to it after something else was sent.
func (r *runner) needless(ups []mapboxsim.UploadRecord) []string {
	all := make([]sent, len(ups))
	for i, u := range ups {
		all[i] = sent{id: u.ID, tileset: u.Tileset, key: u.SHA256, created: u.Created, finished: u.Finished, complete: u.Complete}
	}
	return r.needlessOf(all, "created", "upload")
}

// sent is a create of the Uploads API or a publish of MTS, as the
// needless check sees it: its content (key, "" when unknown), when it was
// created and finished on the server clock, and whether it succeeded.
type sent struct {
	id, tileset, key  string
	created, finished time.Time
	complete          bool
}

// needlessOf lists the needless ones of all, in creation order: content
// sent to a tileset that held it already (the latest success before it
// was created), and content sent again when the folder never went back to
// it after something else was sent. verb and noun name them ("created",
// "upload"; "published", "job").
func (r *runner) needlessOf(all []sent, verb, noun string) []string {
	var out []string
	for i, u := range all {
		if u.key == "" {
			continue // reported by foreign
		}
		var held, prev *sent
		for j := range all[:i] {
			e := &all[j]
			if e.tileset != u.tileset || !e.complete {
				continue
			}
			if !e.finished.After(u.created) && (held == nil || !e.finished.Before(held.finished)) {
				held = e
			}
			if e.key == u.key {
				prev = e
			}
		}
		at := r.rel(u.created)
		switch {
		case held != nil && held.key == u.key:
			out = append(out, fmt.Sprintf("+%v %s: %s %s (%s %s) while the tileset held it already (%s %s)",
				at, u.tileset, verb, r.tl.label(u.key), noun, u.id, noun, held.id))
		case prev != nil:
			var between []sent
			for _, e := range all[:i] {
				if e.tileset == u.tileset && e.created.After(prev.created) && e.key != u.key {
					between = append(between, e)
				}
			}
			if len(between) == 0 {
				out = append(out, fmt.Sprintf("+%v %s: %s %s twice in a row (%ss %s and %s)",
					at, u.tileset, verb, r.tl.label(u.key), noun, prev.id, u.id))
				continue
			}
			other, _ := r.tl.firstSeen(u.tileset, between[0].key)
			if !r.tl.heldAfter(u.tileset, u.key, other) {
				out = append(out, fmt.Sprintf("+%v %s: %s %s again (%s %s after %s) though the folder never went back to it",
					at, u.tileset, verb, r.tl.label(u.key), noun, u.id, prev.id))
			}
		}
	}
	return out
}

// foreign lists the uploads whose content was never in the folders for
// their tileset (torn, mixed, or no staged object at all).
func (r *runner) foreign(ups []mapboxsim.UploadRecord) []string {
	var out []string
	for _, u := range ups {
		if _, ok := r.tl.firstSeen(u.Tileset, u.SHA256); !ok {
			out = append(out, fmt.Sprintf("+%v %s: upload %s of %s, content never in the folders for that tileset (error %q)",
				r.rel(u.Created), u.Tileset, u.ID, r.tl.label(u.SHA256), u.Error))
		}
	}
	return out
}

// rel is a server time as an offset from the history's start.
func (r *runner) rel(serverTime time.Time) time.Duration {
	return serverTime.Add(-r.h.offset).Sub(r.start).Round(time.Millisecond)
}
