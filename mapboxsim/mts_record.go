package mapboxsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// createdNice is the layout of a job's created_nice.
const createdNice = "Mon Jan 02 2006 15:04:05 GMT+0000 (UTC)"

// view renders j as MTS shows it; layer_stats only on the single-job answer.
func (j *job) view(withStats bool) mapbox.Job {
	v := mapbox.Job{ID: j.id, Stage: j.stage, Created: mapbox.MillisOf(j.created),
		CreatedNice: j.created.UTC().Format(createdNice), TilesetID: j.ts.id,
		Errors: []string{}, Warnings: []string{}, Recipe: j.recipe.raw}
	switch j.stage {
	case mapbox.JobProcessing:
		v.Published = mapbox.MillisOf(j.started) // Mapbox shows one on processing jobs too
	case mapbox.JobFailed:
		v.Errors = append(v.Errors, j.outcome.Errors...)
	case mapbox.JobSuccess:
		v.Published = mapbox.MillisOf(j.finished)
		v.Warnings = append(v.Warnings, j.outcome.Warnings...)
		v.CU, v.Filesize = j.cu, j.filesize
		v.TilesetPrecisions = map[string]float64{precision(j.recipe): float64(j.filesize) / 16}
		if withStats {
			stats := map[string]any{}
			for _, in := range j.inputs {
				stats[in.Layer] = map[string]any{"total_tiles": 1 + in.Features/100, "capped": 0,
					"features": in.Features, "checksum": in.SHA256[:16], "zooms": map[string]any{}}
			}
			v.LayerStats, _ = json.Marshal(stats)
		}
	}
	return v
}

// precision is the pricing precision of a recipe's highest maxzoom.
func precision(rc *recipe) string {
	top := 0
	for _, l := range rc.layers {
		top = max(top, l.maxzoom)
	}
	switch {
	case top >= 17:
		return "1cm"
	case top >= 14:
		return "30cm"
	case top >= 11:
		return "1m"
	}
	return "10m"
}

// getJob serves GET /tilesets/v1/{id}/jobs/{job}.
func (s *Server) getJob(w http.ResponseWriter, id, jobID string) {
	s.mu.Lock()
	ts, refusal := s.mtsTileset(id)
	var v mapbox.Job
	var j *job
	if ts != nil {
		s.mts.advance(s.now())
		if j = s.mts.jobs[jobID]; j != nil && j.ts == ts {
			v = j.view(true)
		}
	}
	s.mu.Unlock()
	switch {
	case refusal != nil:
		refusal(w)
	case j == nil || j.ts != ts:
		writeMessage(w, http.StatusNotFound, "Job %s not found for tileset %s", jobID, id)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// listJobs serves GET /tilesets/v1/{id}/jobs: a page of the tileset's jobs
// (stage filters them), newest first unless Options.MTS.JobsOldestFirst;
// 404 "{id} has no jobs." for a tileset without any.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, id string) {
	stage := mapbox.JobStage(r.URL.Query().Get("stage"))
	if stage != "" && !slices.Contains([]mapbox.JobStage{mapbox.JobQueued, mapbox.JobProcessing, mapbox.JobSuccess,
		mapbox.JobFailed, mapbox.JobSuperseded}, stage) {
		writeMessage(w, http.StatusUnprocessableEntity, "stage must be queued, processing, success, failed or superseded")
		return
	}
	s.mu.Lock()
	ts, refusal := s.mtsTileset(id)
	if refusal != nil {
		s.mu.Unlock()
		refusal(w)
		return
	}
	s.mts.advance(s.now())
	var items []pageItem
	hasJobs := false
	for _, j := range s.mts.jobOrder {
		if j.ts != ts {
			continue
		}
		hasJobs = true
		if stage == "" || j.stage == stage {
			items = append(items, pageItem{key: keyOf(j.created, j.seq), v: j.view(false)})
		}
	}
	oldest := s.mts.opts.JobsOldestFirst
	s.mu.Unlock()
	if !hasJobs {
		writeMessage(w, http.StatusNotFound, "%s has no jobs.", id)
		return
	}
	writePage(w, r, "jobs", items, oldest)
}

// MTSJobRecord is what the server knows of one MTS job, at the server
// clock's now.
type MTSJobRecord struct {
	ID      string
	Tileset string
	// Changesets is true for a publish-changesets job.
	Changesets bool
	// Incremental is "initial", "reset" or "" as the publish answered.
	Incremental string
	Stage       mapbox.JobStage
	Created     time.Time
	// Started is when it began processing (zero before, and for a
	// superseded job, which never runs).
	Started time.Time
	// Finished is when it ended (zero while it is active).
	Finished time.Time
	// Inputs are what its layers read when it started.
	Inputs []JobInput
	// SHA256 is the content every input had when they all had the same
	// (a recipe whose layers read one source: that source's bytes); "" if
	// they differ or the job has not started.
	SHA256   string
	Errors   []string
	Warnings []string
	Recipe   json.RawMessage
}

func (j *job) record() MTSJobRecord {
	r := MTSJobRecord{ID: j.id, Tileset: j.ts.id, Changesets: j.changes != nil, Incremental: j.incremental,
		Stage: j.stage, Created: j.created, Started: j.started, Inputs: slices.Clone(j.inputs),
		Errors: slices.Clone(j.outcome.Errors), Warnings: slices.Clone(j.outcome.Warnings), Recipe: j.recipe.raw}
	if j.stage.Done() {
		r.Finished = j.finished
	}
	for i, in := range j.inputs {
		if i == 0 {
			r.SHA256 = in.SHA256
		} else if in.SHA256 != r.SHA256 {
			r.SHA256 = ""
			break
		}
	}
	return r
}

// MTSJobs lists every MTS job, in creation order, at the server's now.
func (s *Server) MTSJobs() []MTSJobRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.advance(s.now())
	out := make([]MTSJobRecord, 0, len(s.mts.jobOrder))
	for _, j := range s.mts.jobOrder {
		out = append(out, j.record())
	}
	return out
}

// MTSHistory lists the successful jobs of the live tileset, in the order
// they finished (the order they ran: one job of a tileset processes at a
// time): the history of what the tileset held, each job with the SHA-256
// of the bytes it was built from.
func (s *Server) MTSHistory(tileset string) []MTSJobRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mts.advance(s.now())
	ts := s.mts.tilesets[tileset]
	var out []MTSJobRecord
	for _, j := range s.mts.jobOrder {
		if j.ts == ts && ts != nil && j.stage == mapbox.JobSuccess {
			out = append(out, j.record())
		}
	}
	slices.SortStableFunc(out, func(a, b MTSJobRecord) int { return a.Finished.Compare(b.Finished) })
	return out
}

// HoldsMTS returns the job whose success came last for tileset at the
// server's now: what the tileset holds (for a publish-changesets job, the
// changes on top of the jobs before it, see MTSHistory). ok is false when
// no job of the live tileset has succeeded. A failed or superseded job
// leaves the tileset as it was.
func (s *Server) HoldsMTS(tileset string) (MTSJobRecord, bool) {
	h := s.MTSHistory(tileset)
	if len(h) == 0 {
		return MTSJobRecord{}, false
	}
	return h[len(h)-1], true
}

// PublishCounts returns, per tileset, the jobs created (publish and
// publish-changesets answered 200): each one billed once it succeeds.
func (s *Server) PublishCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for _, j := range s.mts.jobOrder {
		m[j.ts.id]++
	}
	return m
}
