package state_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// This file holds a plain in-memory model of the store's semantics, the
// random operations applied to both, and the comparison. The model test and
// the crash test share them.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// op is one store operation, serialisable for the crash test's log.
type op struct {
	Kind    string `json:"kind"`
	ID      uint64 `json:"id,omitempty"`
	Tileset string `json:"tileset,omitempty"`
	Path    string `json:"path,omitempty"`
	SHA     string `json:"sha,omitempty"`
	N       int64  `json:"n,omitempty"` // seconds after t0, part number, …
}

var opKinds = []string{"start", "creds", "multipart", "part", "staged", "createsent", "created", "progress",
	"done", "fail", "retrylater", "resume", "retry", "cancel", "retarget"}

// jobInfo is what genOp needs to know of a job.
type jobInfo struct {
	Stage state.Stage
	SHA   string
}

// forward lists, per stage, the operations that move a job along.
var forward = map[state.Stage][]string{
	state.StageQueued:     {"start", "start", "start", "cancel"},
	state.StageStaging:    {"creds", "multipart", "part", "part", "staged", "staged", "retrylater"},
	state.StageStaged:     {"createsent", "created", "created", "retrylater"},
	state.StageProcessing: {"progress", "done", "done", "retrylater", "fail"},
	state.StageRetryWait:  {"resume", "resume", "retry", "retarget"},
	state.StageFailed:     {"retry", "cancel"},
}

// genOp picks a random operation: an enqueue, a forget, or a transition of
// a job — mostly one its stage allows, sometimes any (valid or not), now and
// then of an unknown job.
func genOp(rng *rand.Rand, jobs map[uint64]jobInfo, maxID uint64) op {
	tilesets := []string{"u.a", "u.b", "u.c"}
	switch r := rng.IntN(100); {
	case r < 15 || len(jobs) == 0:
		ts := tilesets[rng.IntN(len(tilesets))]
		return op{Kind: "enqueue", Tileset: ts, Path: fmt.Sprintf("%s-%d.geojson", ts, rng.IntN(2)), SHA: fmt.Sprint("sha", rng.IntN(5))}
	case r < 17:
		ts := tilesets[rng.IntN(len(tilesets))]
		return op{Kind: "forget", Path: fmt.Sprintf("%s-%d.geojson", ts, rng.IntN(2))}
	default:
		ids := slices.Sorted(maps.Keys(jobs))
		id := ids[rng.IntN(len(ids))]
		if rng.IntN(30) == 0 {
			id = maxID + 1
		}
		o := op{ID: id, N: int64(rng.IntN(100))}
		if kinds := forward[jobs[id].Stage]; len(kinds) > 0 && rng.IntN(10) < 7 {
			o.Kind = kinds[rng.IntN(len(kinds))]
		} else {
			o.Kind = opKinds[rng.IntN(len(opKinds))]
		}
		switch o.Kind {
		case "staged":
			o.SHA = jobs[id].SHA
			if rng.IntN(5) == 0 {
				o.SHA = fmt.Sprint("sha", rng.IntN(5)) // maybe the wrong hash
			}
		case "part":
			o.N = int64(1 + rng.IntN(4))
		}
		return o
	}
}

func at(n int64) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// errClass names the sentinel an error wraps, for comparing store and model.
func errClass(err error) string {
	for _, e := range []struct {
		err  error
		name string
	}{{state.ErrNotFound, "notfound"}, {state.ErrInvalidTransition, "invalid"},
		{state.ErrHashMismatch, "mismatch"}, {state.ErrNewerJob, "newer"}} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

// applyStore performs o on the store and returns the error class.
func applyStore(s *state.Store, o op) string {
	var err error
	switch o.Kind {
	case "enqueue":
		nj := newJob(o.Tileset, o.Path, o.SHA)
		nj.File = &state.FileRecord{Size: 100}
		_, err = s.Enqueue(nj)
	case "forget":
		err = s.ForgetFile(state.FileKey{Watch: watch, Path: o.Path})
	case "start":
		_, err = s.StartStaging(o.ID)
	case "creds":
		_, err = s.SetCredentials(o.ID, state.Credentials{Bucket: "b", SecretAccessKey: "s"})
	case "multipart":
		_, err = s.MultipartStarted(o.ID, state.Multipart{UploadID: fmt.Sprint("mp", o.N), PartSize: 5 << 20})
	case "part":
		_, err = s.PartDone(o.ID, state.Part{Number: int32(o.N), ETag: "e", Size: 5 << 20})
	case "staged":
		_, err = s.MarkStaged(o.ID, o.SHA)
	case "createsent":
		_, err = s.CreateSent(o.ID, at(o.N), time.Time{})
	case "created":
		_, err = s.Created(o.ID, fmt.Sprint("up", o.ID), at(o.N))
	case "progress":
		_, err = s.Progress(o.ID, float64(o.N)/100)
	case "done":
		_, err = s.Done(o.ID)
	case "fail":
		_, err = s.Fail(o.ID, fmt.Sprint("reason ", o.N))
	case "retrylater":
		_, err = s.RetryLater(o.ID, fmt.Sprint("error ", o.N), at(o.N))
	case "resume":
		_, err = s.Resume(o.ID)
	case "retry":
		_, err = s.Retry(o.ID)
	case "cancel":
		_, err = s.Cancel(o.ID, "cancelled")
	case "retarget":
		_, err = s.Retarget(o.ID)
	default:
		panic("unknown op " + o.Kind)
	}
	return errClass(err)
}

// mJob is the model's job and the projection of a stored job compared with it.
type mJob struct {
	ID                    uint64
	Tileset, Path, SHA    string
	Joined                []string
	Stage, RetryFrom      state.Stage
	Attempts              int
	Next, CreateSent      time.Time
	Upload, Multipart     string
	Parts                 []int32
	Creds                 bool
	LastError, StagedHash string
}

type mFile struct {
	SHA, Tileset    string
	Outcome, Reason string
}

type mTileset struct{ SHA, Upload string }

type mHist struct {
	Outcome     state.Outcome
	Tileset     string
	Path, SHA   string
	JobID       uint64
	Upload, Msg string
}

type model struct {
	seq      uint64
	jobs     map[uint64]*mJob
	files    map[string]mFile
	tilesets map[string]mTileset
	history  []mHist
}

func newModel() *model {
	return &model{jobs: map[uint64]*mJob{}, files: map[string]mFile{}, tilesets: map[string]mTileset{}}
}

func (m *model) clone() *model {
	c := &model{seq: m.seq, jobs: map[uint64]*mJob{}, files: maps.Clone(m.files), tilesets: maps.Clone(m.tilesets),
		history: slices.Clone(m.history)}
	for id, j := range m.jobs {
		jj := *j
		jj.Parts = slices.Clone(j.Parts)
		c.jobs[id] = &jj
	}
	return c
}

func (m *model) ids() []uint64 { return slices.Sorted(maps.Keys(m.jobs)) }

func (m *model) info() map[uint64]jobInfo {
	out := map[uint64]jobInfo{}
	for id, j := range m.jobs {
		out[id] = jobInfo{j.Stage, j.SHA}
	}
	return out
}

func (m *model) tilesetJobs(ts string) []*mJob {
	var out []*mJob
	for _, id := range m.ids() {
		if m.jobs[id].Tileset == ts {
			out = append(out, m.jobs[id])
		}
	}
	return out
}

func (m *model) setFileOutcome(j *mJob, outcome state.Outcome, reason string) {
	for i, p := range append([]string{j.Path}, j.Joined...) {
		if f, ok := m.files[p]; ok && f.SHA == j.SHA && (i == 0 || f.Tileset == j.Tileset) {
			f.Outcome, f.Reason, f.Tileset = string(outcome), reason, j.Tileset
			m.files[p] = f
		}
	}
}

// join makes the file at p wait for j.
func (j *mJob) join(p string) {
	if p != j.Path && !slices.Contains(j.Joined, p) {
		j.Joined = append(j.Joined, p)
	}
}

func (m *model) end(j *mJob, outcome state.Outcome, msg string) {
	delete(m.jobs, j.ID)
	m.setFileOutcome(j, outcome, "")
	m.history = append(m.history, mHist{Outcome: outcome, Tileset: j.Tileset, Path: j.Path, SHA: j.SHA, JobID: j.ID, Msg: msg})
}

// apply performs o on the model and returns the error class the store must return.
// It is long because it is one case per operation of the store, each the model's rule for it.
func (m *model) apply(o op) string {
	switch o.Kind {
	case "enqueue":
		m.files[o.Path] = mFile{SHA: o.SHA, Tileset: o.Tileset, Outcome: string(state.OutcomePending)}
		jobs := m.tilesetJobs(o.Tileset)
		var live []*mJob
		for _, j := range jobs {
			if j.Stage != state.StageFailed {
				live = append(live, j)
			}
		}
		if len(live) > 0 && live[len(live)-1].SHA == o.SHA {
			live[len(live)-1].join(o.Path)
			return ""
		}
		for _, j := range jobs {
			if j.Stage == state.StageQueued || j.Stage == state.StageFailed {
				m.end(j, state.OutcomeSuperseded, "replaced by newer content "+o.SHA)
			}
		}
		for _, j := range live {
			if j.Stage.InFlight() && j.SHA == o.SHA {
				j.join(o.Path)
				return ""
			}
		}
		m.seq++
		m.jobs[m.seq] = &mJob{ID: m.seq, Tileset: o.Tileset, Path: o.Path, SHA: o.SHA, Stage: state.StageQueued}
		return ""
	case "forget":
		f, ok := m.files[o.Path]
		if !ok {
			return ""
		}
		if ts, ok := m.tilesets[f.Tileset]; ok && ts.SHA == f.SHA {
			delete(m.tilesets, f.Tileset)
		}
		for _, j := range m.tilesetJobs(f.Tileset) {
			if j.Stage == state.StageFailed && j.SHA == f.SHA {
				delete(m.jobs, j.ID)
			}
		}
		delete(m.files, o.Path)
		return ""
	}
	j, ok := m.jobs[o.ID]
	if !ok {
		return "notfound"
	}
	from := map[string][]state.Stage{
		"start": {state.StageQueued}, "creds": {state.StageStaging}, "multipart": {state.StageStaging},
		"part": {state.StageStaging}, "staged": {state.StageStaging}, "createsent": {state.StageStaged},
		"created": {state.StageStaged}, "progress": {state.StageProcessing}, "done": {state.StageProcessing},
		"fail":       {state.StageQueued, state.StageStaging, state.StageStaged, state.StageProcessing, state.StageRetryWait},
		"retrylater": {state.StageStaging, state.StageStaged, state.StageProcessing},
		"resume":     {state.StageRetryWait}, "retry": {state.StageFailed, state.StageRetryWait},
		"cancel":   {state.StageQueued, state.StageStaging, state.StageStaged, state.StageRetryWait, state.StageFailed},
		"retarget": {state.StageQueued, state.StageStaging, state.StageRetryWait},
	}[o.Kind]
	if !slices.Contains(from, j.Stage) {
		return "invalid"
	}
	switch o.Kind {
	case "start":
		for _, other := range m.tilesetJobs(j.Tileset) {
			if other.Stage.InFlight() {
				return "invalid"
			}
		}
		if ts, ok := m.tilesets[j.Tileset]; ok && ts.SHA == j.SHA {
			m.end(j, state.OutcomeUnchanged, state.HeldMessage)
			return ""
		}
		j.Stage = state.StageStaging
	case "creds":
		j.Creds = true
	case "multipart":
		j.Multipart, j.Parts = fmt.Sprint("mp", o.N), nil
	case "part":
		if j.Multipart == "" {
			return "invalid"
		}
		if !slices.Contains(j.Parts, int32(o.N)) {
			j.Parts = append(j.Parts, int32(o.N))
			slices.Sort(j.Parts)
		}
	case "staged":
		if o.SHA != j.SHA {
			return "mismatch"
		}
		j.Stage, j.StagedHash = state.StageStaged, o.SHA
	case "createsent":
		if j.CreateSent.IsZero() {
			j.CreateSent = at(o.N)
		}
	case "created":
		j.Stage, j.Upload = state.StageProcessing, fmt.Sprint("up", o.ID)
	case "progress":
	case "done":
		m.tilesets[j.Tileset] = mTileset{SHA: j.SHA, Upload: j.Upload}
		delete(m.jobs, j.ID)
		m.setFileOutcome(j, state.OutcomeUploaded, "")
		m.history = append(m.history, mHist{Outcome: state.OutcomeUploaded, Tileset: j.Tileset, Path: j.Path, SHA: j.SHA, JobID: j.ID, Upload: j.Upload})
	case "fail":
		reason := fmt.Sprint("reason ", o.N)
		j.Stage, j.RetryFrom, j.Next, j.LastError = state.StageFailed, 0, time.Time{}, reason
		for _, other := range m.tilesetJobs(j.Tileset) {
			if other.ID != j.ID && other.Stage == state.StageFailed {
				delete(m.jobs, other.ID)
			}
		}
		m.setFileOutcome(j, state.OutcomeFailed, reason)
		m.history = append(m.history, mHist{Outcome: state.OutcomeFailed, Tileset: j.Tileset, Path: j.Path, SHA: j.SHA, JobID: j.ID, Upload: j.Upload, Msg: reason})
	case "retrylater":
		j.RetryFrom, j.Stage = j.Stage, state.StageRetryWait
		j.Attempts++
		j.Next, j.LastError = at(o.N), fmt.Sprint("error ", o.N)
	case "resume":
		j.Stage, j.RetryFrom, j.Next = j.RetryFrom, 0, time.Time{}
	case "retry":
		if j.Stage == state.StageRetryWait {
			j.Next = time.Time{}
			return ""
		}
		if len(m.tilesetJobs(j.Tileset)) > 1 {
			return "newer"
		}
		*j = mJob{ID: j.ID, Tileset: j.Tileset, Path: j.Path, Joined: j.Joined, SHA: j.SHA, Stage: state.StageQueued}
		m.setFileOutcome(j, state.OutcomePending, "")
	case "cancel":
		if j.Stage != state.StageFailed && (j.Upload != "" || !j.CreateSent.IsZero()) {
			return "invalid"
		}
		m.end(j, state.OutcomeCancelled, "cancelled")
	case "retarget":
		if j.Upload != "" || !j.CreateSent.IsZero() || (j.Stage == state.StageRetryWait && j.RetryFrom != state.StageStaging) {
			return "invalid"
		}
		for i, p := range j.Joined {
			if f, ok := m.files[p]; ok && f.SHA == j.SHA && f.Tileset == j.Tileset {
				j.Path, j.Joined = p, append(slices.Clone(j.Joined[i+1:]), j.Path)
				j.Creds, j.Multipart, j.Parts = false, "", nil
				return ""
			}
		}
		return "notfound"
	}
	return ""
}

// next is the model's answer to Store.Next.
func (m *model) next(now time.Time, n int) []uint64 {
	var out []uint64
	for _, id := range m.ids() {
		j := m.jobs[id]
		busy := false
		for _, o := range m.tilesetJobs(j.Tileset) {
			busy = busy || o.Stage.InFlight()
		}
		if len(out) < n && (j.Stage == state.StageRetryWait && !j.Next.After(now) || j.Stage == state.StageQueued && !busy) {
			out = append(out, id)
		}
	}
	return out
}
