package state

import "fmt"

// EndHeld ends a job whose content the tileset is known to hold from an
// upload this store does not record: in fleet mode, the fleet's ledger says
// another node (or an earlier create of this one, resolved through Mapbox's
// list) made uploadID from the same bytes. In one transaction the job is
// removed as unchanged (its files with it), the tileset's record becomes
// the job's content and uploadID (so that intake judges "unchanged" by it,
// and create recovery never takes that upload for another), and history
// records msg. A job that may have an upload of its own (processing) cannot
// end this way. The returned job has StageDone.
func (s *Store) EndHeld(id uint64, uploadID, msg string) (Job, error) {
	return s.transition(id, "end held", []Stage{StageQueued, StageStaging, StageStaged, StageRetryWait},
		func(t *txn, j *Job) error {
			if uploadID == "" {
				return fmt.Errorf("job %d: empty upload ID: %w", id, ErrInvalidTransition)
			}
			if j.Stage == StageRetryWait && j.RetryFrom == StageProcessing {
				return fmt.Errorf("job %d has an upload of its own: %w", id, ErrInvalidTransition)
			}
			rec := TilesetRecord{SHA256: j.SHA256, UploadID: uploadID, Time: t.now, Source: j.Source}
			if err := putJSON(t.b(bucketTilesets), []byte(j.Tileset), rec); err != nil {
				return err
			}
			j.Stage = StageDone
			if err := t.deleteJob(*j); err != nil {
				return err
			}
			if err := t.setFileOutcome(*j, OutcomeUnchanged, ""); err != nil {
				return err
			}
			return t.addHistory(HistoryEntry{Tileset: j.Tileset, Source: j.Source, SHA256: j.SHA256,
				UploadID: uploadID, JobID: j.ID, Outcome: OutcomeUnchanged, Message: msg})
		})
}
