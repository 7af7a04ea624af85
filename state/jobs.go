package state

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// NewJob is the content to queue for a tileset.
type NewJob struct {
	Tileset string
	Name    string // display name for the upload
	Source  FileKey
	SHA256  string
	Size    int64
	// File, if not nil, is stored in the same transaction (its Outcome set to
	// pending), so the file index never says "queued" without a job or the
	// reverse. Its Key and SHA256 are taken from Source and SHA256. (If the
	// content is already queued from another file of the tileset, this file
	// stays pending: Done marks only the job's own source uploaded, and the
	// syncer's next look finds the tileset unchanged.)
	File *FileRecord
}

// EnqueueResult says what Enqueue did.
type EnqueueResult struct {
	Job Job
	// Existing is true when a job with this tileset and content was already
	// queued or in flight; Job is that job and nothing changed but File.
	Existing bool
	// Superseded lists the older queued (or failed) jobs of the tileset that
	// the new content replaced; each has a "superseded" history entry.
	Superseded []Job
}

// Enqueue queues content for a tileset, coalescing per tileset in one
// transaction: a job with the same content that is queued or in flight is
// kept and returned (Existing); an older queued job, or a failed one, is
// removed and recorded as superseded; a job in flight is left alone and the
// new job waits behind it (Next does not return it until the tileset is free).
// Whether the tileset already has this content is the caller's decision
// (see Unchanged); Enqueue does not check.
func (s *Store) Enqueue(nj NewJob) (EnqueueResult, error) {
	if err := validName("tileset", nj.Tileset); err != nil {
		return EnqueueResult{}, err
	}
	if err := nj.Source.validate(); err != nil {
		return EnqueueResult{}, err
	}
	if nj.SHA256 == "" {
		return EnqueueResult{}, errors.New("enqueue: empty content hash")
	}
	var res EnqueueResult
	err := s.write(func(t *txn) error {
		res = EnqueueResult{}
		if nj.File != nil {
			rec := *nj.File
			rec.Key, rec.SHA256, rec.Outcome, rec.Reason, rec.UpdatedAt = nj.Source, nj.SHA256, OutcomePending, "", t.now
			if rec.Tileset == "" {
				rec.Tileset = nj.Tileset
			}
			if err := putFile(t.b(bucketFiles), rec); err != nil {
				return err
			}
		}
		existing, err := t.tilesetJobs(nj.Tileset)
		if err != nil {
			return err
		}
		for _, j := range existing {
			if j.SHA256 == nj.SHA256 && j.Stage != StageFailed {
				res.Job, res.Existing = j, true
				return nil
			}
		}
		for _, j := range existing {
			if j.Stage != StageQueued && j.Stage != StageFailed {
				continue
			}
			if err := t.endJob(j, OutcomeSuperseded, "replaced by newer content "+short(nj.SHA256)); err != nil {
				return err
			}
			res.Superseded = append(res.Superseded, j)
		}
		id, err := t.b(bucketJobs).NextSequence()
		if err != nil {
			return err
		}
		res.Job = Job{
			ID: id, Tileset: nj.Tileset, Name: nj.Name, Source: nj.Source,
			SHA256: nj.SHA256, Size: nj.Size, Stage: StageQueued,
			CreatedAt: t.now, UpdatedAt: t.now,
		}
		return t.putJob(res.Job)
	})
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("enqueue %s for %s: %w", nj.Source, nj.Tileset, err)
	}
	if !res.Existing {
		s.log.Debug("job queued", "job", res.Job, "superseded", len(res.Superseded))
	}
	return res, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

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
		j.Stage = StageStaging
		return nil
	})
}

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
	return s.transition(id, "mark staged", []Stage{StageStaging}, func(t *txn, j *Job) error {
		if stagedSHA256 != j.SHA256 {
			return fmt.Errorf("job %d queued %s, staged %s: %w", id, short(j.SHA256), short(stagedSHA256), ErrHashMismatch)
		}
		j.Stage, j.StagedSHA256, j.StagedAt = StageStaged, stagedSHA256, t.now
		return nil
	})
}

// CreateSent records, before the create request goes out, that it is about
// to: after a crash, a staged job with CreateSentAt set must be looked up at
// Mapbox before it is created again. The first time is kept.
func (s *Store) CreateSent(id uint64, at time.Time) (Job, error) {
	return s.transition(id, "record create sent", []Stage{StageStaged}, func(_ *txn, j *Job) error {
		if j.CreateSentAt.IsZero() {
			j.CreateSentAt = at
		}
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
		rec := TilesetRecord{SHA256: j.SHA256, UploadID: j.UploadID, Time: t.now, Source: j.Source}
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
			UploadID: j.UploadID, JobID: j.ID, Outcome: OutcomeUploaded})
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
			Size: j.Size, Stage: StageQueued, CreatedAt: j.CreatedAt}
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
