package state

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// transition loads job id, checks that its stage is one of from, lets fn
// change it, and stores it, all in one transaction. It returns the job as
// stored.
func (s *Store) transition(id uint64, op string, from []Stage, fn func(t *txn, j *Job) error) (Job, error) {
	var out Job
	err := s.write(func(t *txn) error {
		j, err := t.job(id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, j.Stage) {
			return fmt.Errorf("job %d is %s, %s needs %v: %w", id, j.Stage, op, from, ErrInvalidTransition)
		}
		if err := fn(t, &j); err != nil {
			return err
		}
		j.UpdatedAt = t.now
		out = j
		if j.Stage == StageDone {
			return nil // fn removed it
		}
		return t.putJob(j)
	})
	if err != nil {
		return Job{}, fmt.Errorf("%s: %w", op, err)
	}
	s.log.Debug("job "+op, "job", out)
	return out, nil
}

// StartStaging moves a queued job to staging. It fails with
// ErrInvalidTransition while another job of the same tileset is in flight.
// A job whose content the tileset's last upload already holds (the job
// queued behind another that was then cancelled or failed, and the file
// went back meanwhile) is not sent: it ends as unchanged, its files with it,
// and the returned job has StageDone.
func (s *Store) StartStaging(id uint64) (Job, error) {
	return s.transition(id, "start staging", []Stage{StageQueued}, func(t *txn, j *Job) error {
		others, err := t.tilesetJobs(j.Tileset)
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.Stage.InFlight() {
				return fmt.Errorf("tileset %s has job %d in flight: %w", j.Tileset, o.ID, ErrInvalidTransition)
			}
		}
		var ts TilesetRecord
		found, err := getJSON(t.b(bucketTilesets), []byte(j.Tileset), &ts)
		if err != nil {
			return err
		}
		if found && ts.SHA256 == j.SHA256 {
			j.Stage = StageDone
			return t.endJob(*j, OutcomeUnchanged, HeldMessage)
		}
		j.Stage = StageStaging
		return nil
	})
}

// HeldMessage is the history message of a job that StartStaging ended
// because the tileset already holds its content.
const HeldMessage = "not sent: the tileset already holds this content"

// SetCredentials stores the staging credentials of a job being staged,
// replacing earlier ones (after they expired).
func (s *Store) SetCredentials(id uint64, c Credentials) (Job, error) {
	return s.transition(id, "set credentials", []Stage{StageStaging}, func(_ *txn, j *Job) error {
		j.Credentials = &c
		return nil
	})
}

// MultipartStarted records a new multipart upload of a job being staged
// (m.UploadID, m.PartSize and m.Checksum), forgetting any earlier one and
// its parts: a new upload has none yet (m.Parts is ignored).
func (s *Store) MultipartStarted(id uint64, m Multipart) (Job, error) {
	return s.transition(id, "start multipart", []Stage{StageStaging}, func(_ *txn, j *Job) error {
		if m.UploadID == "" || m.PartSize <= 0 {
			return fmt.Errorf("multipart upload %q with part size %d: %w", m.UploadID, m.PartSize, ErrInvalidTransition)
		}
		m.Parts = nil
		j.Multipart = &m
		return nil
	})
}

// PartDone records a completed part of the job's multipart upload. A part
// recorded again (re-sent) replaces the earlier record.
func (s *Store) PartDone(id uint64, p Part) (Job, error) {
	return s.transition(id, "record part", []Stage{StageStaging}, func(_ *txn, j *Job) error {
		if j.Multipart == nil {
			return fmt.Errorf("job %d has no multipart upload: %w", id, ErrInvalidTransition)
		}
		if p.Number < 1 || p.ETag == "" {
			return fmt.Errorf("part %d with etag %q: %w", p.Number, p.ETag, ErrInvalidTransition)
		}
		parts := j.Multipart.Parts
		i, found := slices.BinarySearchFunc(parts, p.Number, func(a Part, n int32) int { return int(a.Number - n) })
		if found {
			parts[i] = p
		} else {
			parts = slices.Insert(parts, i, p)
		}
		j.Multipart.Parts = parts
		return nil
	})
}

// MarkStaged moves a job to staged once its bytes are on S3. stagedSHA256 is
// the hash of the bytes actually sent; if it differs from the queued hash the
// job is unchanged and ErrHashMismatch is returned (the caller cancels it).
func (s *Store) MarkStaged(id uint64, stagedSHA256 string) (Job, error) {
	return s.MarkStagedChangeset(id, stagedSHA256, "")
}

// MarkStagedChangeset is MarkStaged for an MTS job staged as changeset
// changesetID ("" for its whole content, in its tileset source).
func (s *Store) MarkStagedChangeset(id uint64, stagedSHA256, changesetID string) (Job, error) {
	return s.transition(id, "mark staged", []Stage{StageStaging}, func(t *txn, j *Job) error {
		if stagedSHA256 != j.SHA256 {
			return fmt.Errorf("job %d queued %s, staged %s: %w", id, short(j.SHA256), short(stagedSHA256), ErrHashMismatch)
		}
		j.Stage, j.StagedSHA256, j.StagedAt, j.Changeset = StageStaged, stagedSHA256, t.now, changesetID
		return nil
	})
}

// CreateSent records, before the create request goes out, that it is about
// to: after a crash, a staged job with CreateSentAt set must be looked up at
// Mapbox before it is created again. at is this machine's clock, server the
// same moment on Mapbox's clock (zero if unknown). The first time is kept
// until ClearCreateSent.
func (s *Store) CreateSent(id uint64, at, server time.Time) (Job, error) {
	return s.transition(id, "record create sent", []Stage{StageStaged}, func(_ *txn, j *Job) error {
		if j.CreateSentAt.IsZero() {
			j.CreateSentAt, j.CreateSentServer = at, server
		}
		j.CreateLastSent = at
		return nil
	})
}

// ClearCreateSent forgets a create intent once the attempt that recorded it
// proved that nothing was created (Mapbox answered 4xx, or the request never
// left this machine): the next attempt is a fresh create, and recovery will
// not look for an upload that does not exist.
func (s *Store) ClearCreateSent(id uint64) (Job, error) {
	return s.transition(id, "clear create sent", []Stage{StageStaged}, func(_ *txn, j *Job) error {
		j.CreateSentAt, j.CreateSentServer, j.CreateLastSent = time.Time{}, time.Time{}, time.Time{}
		return nil
	})
}

// Created stores the created upload's ID and moves the job to processing,
// in one transaction.
func (s *Store) Created(id uint64, uploadID string, createdAt time.Time) (Job, error) {
	return s.transition(id, "mark created", []Stage{StageStaged}, func(_ *txn, j *Job) error {
		if uploadID == "" {
			return fmt.Errorf("empty upload ID: %w", ErrInvalidTransition)
		}
		j.Stage, j.UploadID, j.UploadCreatedAt = StageProcessing, uploadID, createdAt
		return nil
	})
}

// Progress records Mapbox's progress (0…1) of a processing job.
func (s *Store) Progress(id uint64, progress float64) (Job, error) {
	return s.transition(id, "record progress", []Stage{StageProcessing}, func(t *txn, j *Job) error {
		j.Progress, j.ProgressAt = progress, t.now
		return nil
	})
}

// Done finishes a processing job: in one transaction it removes the job,
// records the content as the tileset's last upload, marks the source file
// uploaded (if it still has this content) and appends history. The returned
// job has StageDone.
func (s *Store) Done(id uint64) (Job, error) {
	return s.transition(id, "mark done", []Stage{StageProcessing}, func(t *txn, j *Job) error {
		j.Stage, j.Progress = StageDone, 1
		rec := TilesetRecord{SHA256: j.SHA256, UploadID: j.UploadID, Time: t.now, Source: j.Source, Recipe: recipeHashOf(*j)}
		if j.Target == TargetMTS {
			rec.RecipeJSON = j.Recipe
		}
		if err := putJSON(t.b(bucketTilesets), []byte(j.Tileset), rec); err != nil {
			return err
		}
		if err := t.deleteJob(*j); err != nil {
			return err
		}
		if err := t.setFileOutcome(*j, OutcomeUploaded, ""); err != nil {
			return err
		}
		return t.addHistory(HistoryEntry{Tileset: j.Tileset, Source: j.Source, SHA256: j.SHA256,
			UploadID: j.UploadID, JobID: j.ID, Outcome: OutcomeUploaded, Target: j.Target, CU: j.CU, Warnings: j.Warnings})
	})
}

// Fail marks a job failed permanently with reason: it stays listed (Failed)
// until retried or replaced by newer content; the source file's outcome
// becomes failed and history records it. An older failed job of the same
// tileset is removed (one failure per tileset is listed).
func (s *Store) Fail(id uint64, reason string) (Job, error) {
	return s.transition(id, "mark failed", []Stage{StageQueued, StageStaging, StageStaged, StageProcessing, StageRetryWait},
		func(t *txn, j *Job) error {
			j.Stage, j.RetryFrom, j.NextAttempt, j.LastError = StageFailed, 0, time.Time{}, reason
			// An older failure of the tileset is obsolete: its entry stays in history.
			others, err := t.tilesetJobs(j.Tileset)
			if err != nil {
				return err
			}
			for _, o := range others {
				if o.ID != j.ID && o.Stage == StageFailed {
					if err := t.deleteJob(o); err != nil {
						return err
					}
				}
			}
			if err := t.setFileOutcome(*j, OutcomeFailed, reason); err != nil {
				return err
			}
			return t.addHistory(HistoryEntry{Tileset: j.Tileset, Source: j.Source, SHA256: j.SHA256,
				UploadID: j.UploadID, JobID: j.ID, Outcome: OutcomeFailed, Message: reason})
		})
}

// RetryLater parks an in-flight job after a transient error until next: it
// moves to retry-wait (remembering where to resume), counts the attempt and
// keeps the error.
func (s *Store) RetryLater(id uint64, cause string, next time.Time) (Job, error) {
	return s.transition(id, "schedule retry", []Stage{StageStaging, StageStaged, StageProcessing}, func(_ *txn, j *Job) error {
		j.RetryFrom, j.Stage = j.Stage, StageRetryWait
		j.Attempts++
		j.NextAttempt, j.LastError = next, cause
		return nil
	})
}

// Restage sends a job's bytes to the staging bucket again: its staged
// object is older than the bucket may keep it (staged, before a create
// that could have used it), or Mapbox said the object was gone (a
// processing job: its upload failed, recorded in history as failed with its
// upload ID, so create recovery never takes it). The job goes back to
// staging with no credentials, multipart upload or staged hash. A staged
// job keeps its create intent: an earlier create may still have to be
// looked up.
func (s *Store) Restage(id uint64, reason string) (Job, error) {
	return s.transition(id, "restage", []Stage{StageStaged, StageProcessing}, func(t *txn, j *Job) error {
		if j.Stage == StageProcessing {
			if err := t.addHistory(HistoryEntry{Tileset: j.Tileset, Source: j.Source, SHA256: j.SHA256,
				UploadID: j.UploadID, JobID: j.ID, Outcome: OutcomeFailed, Message: reason + "; staging again"}); err != nil {
				return err
			}
			j.UploadID, j.UploadCreatedAt, j.CreateSentAt, j.CreateSentServer, j.CreateLastSent = "", time.Time{}, time.Time{}, time.Time{}, time.Time{}
			j.Progress, j.ProgressAt = 0, time.Time{}
		}
		j.Stage, j.Credentials, j.Multipart, j.StagedSHA256, j.StagedAt, j.Changeset = StageStaging, nil, nil, "", time.Time{}, ""
		return nil
	})
}

// Reschedule moves a retry-wait job's next attempt to next (the syncer
// clamps a deadline that lies further ahead than its longest wait, as a
// clock set back leaves it).
func (s *Store) Reschedule(id uint64, next time.Time) (Job, error) {
	return s.transition(id, "reschedule", []Stage{StageRetryWait}, func(_ *txn, j *Job) error {
		j.NextAttempt = next
		return nil
	})
}

// Resume moves a retry-wait job back to the stage it was parked from.
func (s *Store) Resume(id uint64) (Job, error) {
	return s.transition(id, "resume", []Stage{StageRetryWait}, func(_ *txn, j *Job) error {
		if !j.RetryFrom.InFlight() || j.RetryFrom == StageRetryWait {
			return fmt.Errorf("job %d resumes at %s: %w", id, j.RetryFrom, ErrInvalidTransition)
		}
		j.Stage, j.RetryFrom, j.NextAttempt = j.RetryFrom, 0, time.Time{}
		return nil
	})
}

// Retry is the `retry` command: a failed job starts again from the queue
// (resume data, attempts and error cleared), and a retry-wait job becomes
// due now. A failed job whose tileset has newer work fails with ErrNewerJob.
func (s *Store) Retry(id uint64) (Job, error) {
	return s.transition(id, "retry", []Stage{StageFailed, StageRetryWait}, func(t *txn, j *Job) error {
		if j.Stage == StageRetryWait {
			j.NextAttempt = time.Time{}
			return nil
		}
		others, err := t.tilesetJobs(j.Tileset)
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.ID != j.ID {
				return fmt.Errorf("job %d of tileset %s: %w", o.ID, j.Tileset, ErrNewerJob)
			}
		}
		*j = Job{ID: j.ID, Tileset: j.Tileset, Name: j.Name, Source: j.Source, SHA256: j.SHA256,
			Size: j.Size, Joined: j.Joined, Stage: StageQueued, CreatedAt: j.CreatedAt,
			Target: j.Target, SourceID: j.SourceID, Recipe: j.Recipe}
		return t.setFileOutcome(*j, OutcomePending, "")
	})
}

// Cancel drops a job that has not reached Mapbox (queued, staging, staged
// with no create sent, or waiting to retry one of those), e.g. because the
// file changed while it was staged. History records it as cancelled with
// reason. A failed job may always be dropped; any other job that may exist
// at Mapbox cannot be cancelled. The returned job has StageDone (removed).
func (s *Store) Cancel(id uint64, reason string) (Job, error) {
	return s.transition(id, "cancel", []Stage{StageQueued, StageStaging, StageStaged, StageRetryWait, StageFailed},
		func(t *txn, j *Job) error {
			if j.Stage != StageFailed && (j.UploadID != "" || !j.CreateSentAt.IsZero()) {
				return fmt.Errorf("job %d may exist at Mapbox: %w", id, ErrInvalidTransition)
			}
			j.Stage = StageDone
			return t.endJob(*j, OutcomeCancelled, reason)
		})
}

// CancelGone settles a job whose file changed or went away before any
// create was sent: a joined file that still holds its content becomes its
// source (as Retarget does; retargeted is true) when the job is not yet
// staged, else the job is cancelled (as Cancel does). It is one
// transaction, so a file that joins the job while the sender decides is
// never cancelled with it.
func (s *Store) CancelGone(id uint64, reason string) (j Job, retargeted bool, err error) {
	j, err = s.transition(id, "cancel or retarget", []Stage{StageQueued, StageStaging, StageStaged, StageRetryWait},
		func(t *txn, j *Job) error {
			if j.UploadID != "" || !j.CreateSentAt.IsZero() {
				return fmt.Errorf("job %d may exist at Mapbox: %w", id, ErrInvalidTransition)
			}
			staging := j.Stage == StageQueued || j.Stage == StageStaging || j.Stage == StageRetryWait && j.RetryFrom == StageStaging
			if staging && t.retarget(j) {
				retargeted = true
				return nil
			}
			j.Stage = StageDone
			return t.endJob(*j, OutcomeCancelled, reason)
		})
	return j, retargeted, err
}

// Retarget makes one of a job's joined files its source when the source is
// gone or no longer holds the job's content before any create was sent.
// Staging starts over from the new source (credentials and multipart upload
// forgotten): the bytes already sent were read from the old one. It returns
// ErrNotFound when no joined file still holds the content (the caller then
// cancels the job).
func (s *Store) Retarget(id uint64) (Job, error) {
	return s.transition(id, "retarget", []Stage{StageQueued, StageStaging, StageRetryWait},
		func(t *txn, j *Job) error {
			if j.UploadID != "" || !j.CreateSentAt.IsZero() || (j.Stage == StageRetryWait && j.RetryFrom != StageStaging) {
				return fmt.Errorf("job %d is past staging: %w", id, ErrInvalidTransition)
			}
			if !t.retarget(j) {
				return fmt.Errorf("job %d: no other file holds its content: %w", id, ErrNotFound)
			}
			return nil
		})
}

// retarget makes the first joined file that still holds j's content its
// source, and reports whether there was one.
func (t *txn) retarget(j *Job) bool {
	files := t.b(bucketFiles)
	for i, key := range j.Joined {
		rec, ok, err := getFile(files, key)
		if err == nil && ok && rec.SHA256 == j.SHA256 && rec.Tileset == j.Tileset {
			// The old source stays joined: should its record still say
			// pending, the job's end settles it.
			j.Joined = append(slices.Clone(j.Joined[i+1:]), j.Source)
			j.Source = key
			j.Credentials, j.Multipart = nil, nil
			return true
		}
	}
	return false
}

// KnownUpload reports whether uploadID is already accounted for in
// tileset's records: its last upload, its history, or one of its jobs. Create
// recovery never takes such an upload for a new one.
func (s *Store) KnownUpload(tileset, uploadID string) (bool, error) {
	known := false
	err := s.view(func(tx *bolt.Tx) error {
		var ts TilesetRecord
		found, err := getJSON(tx.Bucket(bucketTilesets), []byte(tileset), &ts)
		if err != nil {
			return err
		}
		if found && ts.UploadID == uploadID {
			known = true
			return nil
		}
		if err := forPrefix(tx.Bucket(bucketHistByTS), namePrefix([]byte(tileset)), func(_, v []byte) error {
			var e HistoryEntry
			if json.Unmarshal(v, &e) == nil && e.UploadID == uploadID {
				known = true
			}
			return nil
		}); err != nil || known {
			return err
		}
		return forPrefix(tx.Bucket(bucketJobsByTS), namePrefix([]byte(tileset)), func(k, _ []byte) error {
			_, jid, ok := splitNameSeq(k)
			if !ok {
				return nil
			}
			var j Job
			if found, err := getJSON(tx.Bucket(bucketJobs), seqKey(jid), &j); err == nil && found && j.UploadID == uploadID {
				known = true
			}
			return nil
		})
	})
	if err != nil {
		return false, fmt.Errorf("look up upload %s of %s: %w", uploadID, tileset, err)
	}
	return known, nil
}

// SourceWithdrawn settles the jobs not yet under way whose source file was
// removed or refused (queued, or waiting to retry their staging): each
// moves to a joined file that still holds its content (see Retarget), or
// is cancelled for reason. A job being staged or past staging is left to
// its worker. It returns the jobs cancelled.
func (s *Store) SourceWithdrawn(key FileKey, reason string) ([]Job, error) {
	var cancelled []Job
	err := s.write(func(t *txn) error {
		cancelled = nil
		var hit []Job
		if err := eachJob(t.tx, func(j Job) error {
			if j.Source == key && (j.Stage == StageQueued || j.Stage == StageRetryWait && j.RetryFrom == StageStaging) {
				hit = append(hit, j)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, j := range hit {
			if t.retarget(&j) {
				if err := t.putJob(j); err != nil {
					return err
				}
				continue
			}
			if err := t.endJob(j, OutcomeCancelled, reason); err != nil {
				return err
			}
			cancelled = append(cancelled, j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jobs of withdrawn %s: %w", key, err)
	}
	return cancelled, nil
}
