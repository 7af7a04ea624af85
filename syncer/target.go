package syncer

import (
	"context"

	"github.com/tilesyncd/tilesyncd/state"
)

// Target is what the sender does with a job once a worker takes it: where
// its bytes go and how Mapbox is asked to build the tileset from them. The
// sender owns the queue, the workers, the poller's pace, retries and the
// error classes; a target owns the requests of one Mapbox API. The Uploads
// API is the target today (uploads.go); a second one (the Mapbox Tiling
// Service) plugs in beside it without touching intake or the state.
type Target interface {
	// Stage sends the job's bytes where Mapbox will read them: the job goes
	// from staging to staged.
	Stage(ctx context.Context, j state.Job) (state.Job, error)
	// Create asks Mapbox to build the tileset from the staged bytes, or
	// finds that an earlier request did: the job goes from staged to
	// processing.
	Create(ctx context.Context, j state.Job) (state.Job, error)
	// Check reads what Mapbox says of processing jobs: of every job it can
	// learn of cheaply (one list request), and of each job due (due says
	// which) that it cannot. A job it learnt nothing of is left out.
	Check(ctx context.Context, jobs []state.Job, due func(state.Job) bool) ([]Status, error)
}

// Status is what Mapbox says of one processing job.
type Status struct {
	Job state.Job
	// UploadID names the upload (or publish job) at Mapbox.
	UploadID string
	// Complete: the tileset now holds the job's content.
	Complete bool
	// Failed is Mapbox's reason when processing failed for good; Restage
	// says Mapbox lost the staged bytes, which are staged again.
	Failed  string
	Restage bool
	// Progress is Mapbox's processing progress, 0 to 1.
	Progress float64
}
