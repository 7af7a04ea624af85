package mapboxsim

import (
	"math"
	"net/http"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// job is one MTS job. Its stage moves on the server clock: advance moves
// every job to where it is at a given time, so nothing runs in the
// background.
type job struct {
	id          string
	seq         int
	ts          *tileset
	changes     map[string]string // layer → changeset ID; nil for a full publish
	incremental string            // "initial", "reset" or ""
	recipe      *recipe           // the recipe when it was published
	created     time.Time
	ready       time.Time // created + the queue time when it was published
	stage       mapbox.JobStage
	started     time.Time
	finished    time.Time // when it ended; when it will, while processing
	inputs      []JobInput
	outcome     JobOutcome
	cu          float64
	filesize    int64
}

// JobInput is what one layer of a job read when it started processing:
// the source (or, for a publish-changesets job, the changeset) and its
// content then.
type JobInput struct {
	Layer string
	// URI is mapbox://tileset-source/… (or mapbox://tileset-changeset/…).
	URI string
	// SHA256 is of all the source's bytes, its files in order.
	SHA256   string
	Size     int64
	Files    int
	Features int
}

// JobOutcome is what a job ends with: it fails if Errors is not empty;
// a successful one may carry Warnings ("W201 …").
type JobOutcome struct {
	Errors   []string
	Warnings []string
}

// NoFeaturesError is the error of a job whose sources hold no feature.
const NoFeaturesError = "No features in source data."

// advance moves every job to where it is at now. Called with s.mu held,
// before anything reads or changes jobs, sources or tilesets.
func (m *mtsState) advance(now time.Time) {
	for _, ts := range m.tsOrder {
		m.advanceTileset(ts, now)
	}
}

// advanceTileset runs the jobs of one tileset up to now: the processing
// one ends at its finish time, and then the first queued one starts, at
// the latest of that end, its own QueueTime after creation and the end of
// a stall; one processing job at a time, in arrival order.
func (m *mtsState) advanceTileset(ts *tileset, now time.Time) {
	for {
		if j := ts.running; j != nil {
			if j.finished.After(now) {
				return
			}
			m.finish(j)
		}
		if len(ts.queue) == 0 || m.faults.stalledAt(ts.id) {
			return
		}
		next := ts.queue[0]
		start := next.ready
		for _, t := range []time.Time{ts.busyUntil, m.faults.floor} {
			if t.After(start) {
				start = t
			}
		}
		if start.After(now) {
			return
		}
		ts.queue = ts.queue[1:]
		m.start(next, start)
	}
}

// start begins processing j at at: it reads its sources (or changesets)
// as they are at at, and its outcome is decided.
func (m *mtsState) start(j *job, at time.Time) {
	j.stage, j.started = mapbox.JobProcessing, at
	j.ts.running = j
	var missing []string
	features := 0
	for _, layer := range j.recipe.layerNames() {
		kind, id := kindSource, j.recipe.layers[layer].sourceID
		if j.changes != nil {
			if id = j.changes[layer]; id == "" {
				continue
			}
			kind = kindChangeset
		}
		f := m.store(kind).get(id, at)
		uri := kind.uri(tilesetUser(j.ts.id), id)
		if f == nil {
			missing = append(missing, "Tileset "+kind.noun()+" "+uri+" does not exist")
			continue
		}
		j.inputs = append(j.inputs, JobInput{Layer: layer, URI: uri, SHA256: f.sum(), Size: f.size, Files: len(f.files), Features: f.features})
		features += f.features
	}
	switch {
	case len(missing) > 0:
		j.outcome = JobOutcome{Errors: missing}
		j.finished = at
		return
	}
	if o := m.contentOutcome(j); o != nil {
		j.outcome = *o
	} else if o, ok := m.outcomes[j.ts.id]; ok {
		j.outcome = o
	} else if features == 0 && j.changes == nil {
		j.outcome = JobOutcome{Errors: []string{NoFeaturesError}}
	}
	j.finished = at.Add(m.opts.ProcessingTime)
}

// contentOutcome is the outcome set for the content of one of j's inputs.
func (m *mtsState) contentOutcome(j *job) *JobOutcome {
	for _, in := range j.inputs {
		if o, ok := m.byContent[in.SHA256]; ok {
			return &o
		}
	}
	return nil
}

// finish ends the processing job j at j.finished with its outcome.
func (m *mtsState) finish(j *job) {
	j.ts.running = nil
	j.ts.busyUntil = j.finished
	if len(j.outcome.Errors) > 0 {
		j.stage = mapbox.JobFailed
		return
	}
	j.stage = mapbox.JobSuccess
	var size int64
	for _, in := range j.inputs {
		size += in.Size
	}
	j.filesize = size/2 + 1024
	j.cu = math.Round((0.1+float64(size)/1e6)*100) / 100
	j.ts.filesize = j.filesize
	if j.changes == nil {
		j.ts.base = j.recipe
	}
}

// fail ends the active job j at now with msg (a deleted changeset or
// tileset).
func (m *mtsState) fail(j *job, now time.Time, msg string) {
	ts := j.ts
	switch j.stage {
	case mapbox.JobQueued:
		for i, q := range ts.queue {
			if q == j {
				ts.queue = append(ts.queue[:i:i], ts.queue[i+1:]...)
				break
			}
		}
	case mapbox.JobProcessing:
		ts.running, ts.busyUntil = nil, now
	}
	j.stage, j.finished = mapbox.JobFailed, now
	j.outcome = JobOutcome{Errors: []string{msg}}
}

// failJobsUsing fails the active jobs that use changeset id.
func (m *mtsState) failJobsUsing(id string, now time.Time) {
	for _, j := range m.jobOrder {
		if j.stage.Done() || j.changes == nil {
			continue
		}
		for _, c := range j.changes {
			if c == id {
				m.fail(j, now, "Changeset "+id+" was deleted")
				break
			}
		}
	}
}

// locked reports whether an active job reads source id: a processing one,
// or a queued one too under Options.MTS.LockQueued.
func (m *mtsState) locked(id string, now time.Time) bool {
	for _, j := range m.jobOrder {
		active := j.stage == mapbox.JobProcessing || j.stage == mapbox.JobQueued && m.opts.LockQueued
		if !active || j.changes != nil {
			continue
		}
		for _, l := range j.recipe.layers {
			if l.sourceID == id {
				return true
			}
		}
	}
	return false
}

// queued counts the account's queued jobs.
func (m *mtsState) queued() int {
	n := 0
	for _, ts := range m.tsOrder {
		n += len(ts.queue)
	}
	return n
}

// enqueue makes a job for ts, superseding the queued full publishes of ts
// when j is a full publish (unless FIFO), or refuses it when the account
// has MaxQueued jobs queued (those it would supersede not counted).
// Called with s.mu held, after advance.
func (s *Server) enqueue(w http.ResponseWriter, ts *tileset, changes map[string]string, now time.Time) (*job, bool) {
	m := s.mts
	var replaced []*job
	if changes == nil && !m.opts.FIFO {
		for _, q := range ts.queue {
			if q.changes == nil {
				replaced = append(replaced, q)
			}
		}
	}
	if m.queued()-len(replaced) >= m.opts.MaxQueued {
		writeMessage(w, m.opts.QueueFullStatus, "Too many jobs queued: the account has %d jobs queued, the most it may have; publish again once one has started", m.queued())
		return nil, false
	}
	for _, q := range replaced {
		q.stage, q.finished = mapbox.JobSuperseded, now
	}
	kept := ts.queue[:0]
	for _, q := range ts.queue {
		if q.stage == mapbox.JobQueued {
			kept = append(kept, q)
		}
	}
	ts.queue = kept
	j := &job{id: "cj" + randomID(11), seq: len(m.jobOrder), ts: ts, changes: changes, recipe: ts.recipe,
		created: now, ready: now.Add(m.opts.QueueTime), stage: mapbox.JobQueued}
	ts.queue = append(ts.queue, j)
	m.jobs[j.id] = j
	m.jobOrder = append(m.jobOrder, j)
	return j, true
}

// publish serves POST /tilesets/v1/{id}/publish: 400 when a layer's
// source does not exist, the queue limit, then a job;
// {"message", "jobId"} and, for an incremental recipe, "incremental":
// "initial" until a full publish succeeded, "reset" after.
func (s *Server) publish(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, refusal := s.mtsTileset(id)
	if refusal != nil {
		refusal(w)
		return
	}
	m, now := s.mts, s.now()
	m.advance(now)
	for _, name := range ts.recipe.layerNames() {
		l := ts.recipe.layers[name]
		if m.sources.get(l.sourceID, now) == nil {
			writeMessage(w, http.StatusBadRequest, "layers.%s.source: tileset source %s does not exist", name, l.source)
			return
		}
	}
	j, ok := s.enqueue(w, ts, nil, now)
	if !ok {
		return
	}
	ans := map[string]string{"message": "Processing " + id, "jobId": j.id}
	if ts.recipe.incremental {
		j.incremental = "reset"
		if ts.base == nil {
			j.incremental = "initial"
		}
		ans["incremental"] = j.incremental
	}
	writeJSON(w, http.StatusOK, ans)
}

// queue serves PUT /tilesets/v1/queue: the jobs queued, this account's
// and SetGlobalQueue's others.
func (s *Server) queue(w http.ResponseWriter) {
	s.mu.Lock()
	s.mts.advance(s.now())
	total := s.mts.queued() + s.mts.otherQueue
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"total": total})
}
