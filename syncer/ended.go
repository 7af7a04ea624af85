package syncer

import "github.com/tilesyncd/tilesyncd/state"

// Ended is a job that ended for good, as Options.Ended is told of it.
type Ended struct {
	// Job is the job as it was when it ended (its Source is the file).
	Job state.Job
	// Uploaded: Mapbox processed it; else it failed, for Reason.
	Uploaded bool
	// UploadID is Mapbox's upload (or MTS job) of it, when there is one.
	UploadID string
	// Reason is why it failed: Mapbox's message, or the error.
	Reason string
}
