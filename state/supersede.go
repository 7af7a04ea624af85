package state

import (
	"errors"
	"fmt"
)

// errNotReplaced: SupersedeUnsent found no newer content to give way to.
var errNotReplaced = errors.New("no newer content queued")

// SupersedeUnsent ends a staged job whose create (or publish) was never
// sent when newer content for its tileset is queued behind it: the job's
// bytes were replaced in the folder while it waited (for the rate budget,
// or the publish slot), so sending them would bill an upload the tileset
// no longer needs. The job ends superseded, in one transaction with the
// check; ok is false, and nothing changes, when it may already exist at
// Mapbox, when nothing newer is queued, or when the newest queued content
// is what the tileset holds already (a revert: the staged bytes must go
// first, so that the tileset takes the reverted content after them).
func (s *Store) SupersedeUnsent(id uint64) (j Job, ok bool, err error) {
	j, err = s.transition(id, "supersede unsent", []Stage{StageStaged, StageRetryWait}, func(t *txn, j *Job) error {
		if j.UploadID != "" || !j.CreateSentAt.IsZero() || j.Stage == StageRetryWait && j.RetryFrom != StageStaged {
			return errNotReplaced
		}
		jobs, err := t.tilesetJobs(j.Tileset)
		if err != nil {
			return err
		}
		var newest *Job
		for i := range jobs {
			if jobs[i].ID > j.ID && jobs[i].Stage == StageQueued {
				newest = &jobs[i]
			}
		}
		if newest == nil || newest.SHA256 == j.SHA256 {
			return errNotReplaced
		}
		var ts TilesetRecord
		found, err := getJSON(t.b(bucketTilesets), []byte(j.Tileset), &ts)
		if err != nil {
			return err
		}
		if found && ts.SHA256 == newest.SHA256 {
			return errNotReplaced
		}
		j.Stage = StageDone
		return t.endJob(*j, OutcomeSuperseded, fmt.Sprintf("replaced by newer content %s before it was sent", short(newest.SHA256)))
	})
	if errors.Is(err, errNotReplaced) || errors.Is(err, ErrInvalidTransition) || errors.Is(err, ErrNotFound) {
		return j, false, nil
	}
	return j, err == nil, err
}
