package state

import (
	"errors"
	"fmt"
	"slices"
)

// NewJob is the content to queue for a tileset.
type NewJob struct {
	Tileset string
	Name    string // display name for the upload
	Source  FileKey
	SHA256  string
	Size    int64
	// Target, SourceID and Recipe are the job's (Job); zero for the
	// Uploads API. For an MTS job SHA256 is MTSContentHash.
	Target   string
	SourceID string
	Recipe   []byte
	// Incremental: the MTS rule publishes changesets after a full publish.
	Incremental bool
	// File, if not nil, is stored in the same transaction, so the file index
	// never says "queued" without a job or the reverse. Its Key and SHA256
	// are taken from Source and SHA256. Its Outcome becomes pending, or
	// unchanged when SkipHeld finds the tileset holding the content.
	File *FileRecord
	// SkipHeld makes Enqueue queue nothing, with nothing in flight for the
	// tileset, when its last upload is this content (Held: File is recorded
	// unchanged, with history, and the tileset's queued and failed jobs are
	// superseded), or when its failed job failed for this very content
	// (Existing: File joins it as failed; `tilesyncd retry` sends it
	// again). Content equal to the newest job queued or in flight for the
	// tileset always joins that job.
	SkipHeld bool
	// LosesTo, if set, is asked when the tileset will hold another file's
	// content (two files map to one tileset) whether that file wins over
	// this one: then nothing is queued and File is recorded superseded
	// (Lost). The syncer answers by which changed last.
	LosesTo func(other FileKey) bool
}

// EnqueueResult says what Enqueue did.
type EnqueueResult struct {
	Job Job
	// Existing is true when the content is that of the newest job queued or
	// in flight for the tileset (after superseding any newer queued one);
	// Job is that job, and File, if given, joined it (Job.Joined).
	Existing bool
	// Held is true when SkipHeld found the tileset holding the content:
	// no job, File recorded unchanged.
	Held bool
	// Lost is, when NewJob.LosesTo said so, the other file the tileset
	// takes its content from (a conflict): no job, File recorded
	// superseded.
	Lost *FileKey
	// Superseded lists the older queued (or failed) jobs of the tileset that
	// the new content replaced; each has a "superseded" history entry.
	Superseded []Job
}

// Enqueue queues content for a tileset, coalescing per tileset in one
// transaction so that the tileset ends up holding the newest content
// submitted: content equal to the newest job queued or in flight for the
// tileset joins it (Existing); otherwise every queued job of the tileset,
// and a failed one, is removed and recorded as superseded, and the content
// joins the job in flight if that job sends it, or is queued behind it (Next
// does not offer a job until its tileset is free). With SkipHeld and nothing
// queued or in flight, content the tileset already holds is recorded as
// unchanged instead (Held).
//
// "What the tileset will hold" is therefore the newest job's content, not
// only the last completed upload: a file put back to the tileset's current
// content while newer content is in flight is queued, not skipped.
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
	err := s.write(func(t *txn) (err error) {
		res, err = t.enqueue(nj)
		return err
	})
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("enqueue %s for %s: %w", nj.Source, nj.Tileset, err)
	}
	if !res.Existing && !res.Held {
		s.log.Debug("job queued", "job", res.Job, "superseded", len(res.Superseded))
	}
	return res, nil
}

// enqueue is Enqueue's transaction.
func (t *txn) enqueue(nj NewJob) (EnqueueResult, error) {
	var res EnqueueResult
	jobs, err := t.tilesetJobs(nj.Tileset)
	if err != nil {
		return res, err
	}
	var live []Job // queued or in flight, in queue order
	for _, j := range jobs {
		if j.Stage != StageFailed {
			live = append(live, j)
		}
	}
	if len(live) > 0 && live[len(live)-1].SHA256 == nj.SHA256 {
		res.Job, res.Existing = live[len(live)-1], true
		return res, t.join(&res.Job, nj)
	}
	if nj.LosesTo != nil && nj.File != nil {
		winner, err := t.competitor(nj, live)
		if err != nil {
			return res, err
		}
		if winner != nil && nj.LosesTo(*winner) {
			res.Lost = winner
			return res, t.recordLost(nj, *winner)
		}
	}
	var inFlight *Job
	for i := range live {
		if live[i].Stage.InFlight() {
			inFlight = &live[i]
		}
	}
	if inFlight == nil && nj.SkipHeld {
		if r, settled, err := t.heldOrFailed(nj, jobs, live); err != nil || settled {
			return r, err
		}
	}
	if err := t.putPending(nj); err != nil {
		return res, err
	}
	for _, j := range jobs {
		if j.Stage != StageQueued && j.Stage != StageFailed {
			continue
		}
		if err := t.endJob(j, OutcomeSuperseded, "replaced by newer content "+short(nj.SHA256)); err != nil {
			return res, err
		}
		res.Superseded = append(res.Superseded, j)
	}
	if inFlight != nil && inFlight.SHA256 == nj.SHA256 {
		res.Job, res.Existing = *inFlight, true
		return res, t.join(&res.Job, nj)
	}
	id, err := t.b(bucketJobs).NextSequence()
	if err != nil {
		return res, err
	}
	res.Job = Job{
		ID: id, Tileset: nj.Tileset, Name: nj.Name, Source: nj.Source,
		SHA256: nj.SHA256, Size: nj.Size, Stage: StageQueued,
		CreatedAt: t.now, UpdatedAt: t.now,
		Target: nj.Target, SourceID: nj.SourceID, Recipe: nj.Recipe, Incremental: nj.Incremental,
	}
	return res, t.putJob(res.Job)
}

// heldOrFailed settles content submitted while nothing of its tileset is in
// flight (jobs are the tileset's, live those queued): content the tileset's
// last upload holds ends every job of the tileset and is recorded unchanged
// (Held); content that failed before joins its failed job, not sent again,
// and the queued jobs are superseded. settled is false when neither holds.
func (t *txn) heldOrFailed(nj NewJob, jobs, live []Job) (res EnqueueResult, settled bool, err error) {
	// Once the queued jobs are superseded, the tileset holds its last upload.
	var ts TilesetRecord
	found, err := getJSON(t.b(bucketTilesets), []byte(nj.Tileset), &ts)
	if err != nil {
		return res, false, err
	}
	if found && ts.SHA256 == nj.SHA256 {
		// Held: queued content and a failure of other content no longer apply.
		for _, j := range jobs {
			if err := t.endJob(j, OutcomeSuperseded, "the tileset holds the file's content "+short(nj.SHA256)); err != nil {
				return res, false, err
			}
			res.Superseded = append(res.Superseded, j)
		}
		res.Held = true
		if err := t.adoptSource(&ts, nj); err != nil {
			return res, false, err
		}
		return res, true, t.recordHeld(nj)
	}
	for _, f := range jobs { // failed, for these very bytes: not sent again
		if f.Stage != StageFailed || f.SHA256 != nj.SHA256 {
			continue
		}
		for _, j := range live {
			if err := t.endJob(j, OutcomeSuperseded, "replaced by newer content "+short(nj.SHA256)); err != nil {
				return res, false, err
			}
			res.Superseded = append(res.Superseded, j)
		}
		res.Job, res.Existing = f, true
		return res, true, t.joinFailed(&res.Job, nj)
	}
	return res, false, nil
}

// adoptSource makes nj's file the source of the content tileset record ts
// holds, which is nj's, when ts's source no longer holds it (gone, moved:
// the file at its new path is found unchanged): the file that holds the
// content is what a conflict is judged against (competitor), and what a
// removal hands the tileset over from (DestinedFrom).
func (t *txn) adoptSource(ts *TilesetRecord, nj NewJob) error {
	if ts.Source == nj.Source || nj.File == nil {
		return nil
	}
	if ts.Source.validate() == nil {
		rec, ok, err := getFile(t.b(bucketFiles), ts.Source)
		if err != nil || ok && rec.SHA256 == ts.SHA256 && rec.Tileset == nj.Tileset {
			return err // its source still holds it
		}
	}
	ts.Source = nj.Source
	return putJSON(t.b(bucketTilesets), []byte(nj.Tileset), ts)
}

// competitor returns, when two files map to one tileset, the other file
// whose content the tileset will hold (the newest queued or in-flight job's
// source or, when that file is gone or holds other content now, a file
// joined to the job that still holds it: a move; else the last upload's
// source) if its record still holds that content; nil when there is none,
// when it is nj's own file, or when the content is nj's (a copy holds it
// too: no competition, whatever the times).
func (t *txn) competitor(nj NewJob, live []Job) (*FileKey, error) {
	var keys []FileKey
	var sha string
	if len(live) > 0 {
		j := live[len(live)-1]
		keys, sha = append([]FileKey{j.Source}, j.Joined...), j.SHA256
	} else {
		var ts TilesetRecord
		found, err := getJSON(t.b(bucketTilesets), []byte(nj.Tileset), &ts)
		if err != nil || !found {
			return nil, err
		}
		keys, sha = []FileKey{ts.Source}, ts.SHA256
	}
	if keys[0] == nj.Source || sha == nj.SHA256 {
		return nil, nil // nj's own file made the content, or nj's content
	}
	for _, key := range keys {
		if key == nj.Source || key.validate() != nil {
			continue
		}
		rec, ok, err := getFile(t.b(bucketFiles), key)
		if err != nil {
			return nil, err
		}
		if ok && rec.SHA256 == sha && rec.Tileset == nj.Tileset {
			return &key, nil
		}
	}
	return nil, nil
}

// recordLost stores nj.File as superseded by the file at winner.
func (t *txn) recordLost(nj NewJob, winner FileKey) error {
	return t.putOutcome(nj, OutcomeSuperseded, "another file for the tileset changed later: "+winner.Path, true)
}

// putPending stores nj.File, if any, as pending for nj's content.
func (t *txn) putPending(nj NewJob) error {
	return t.putOutcome(nj, OutcomePending, "", false)
}

// join makes nj's file wait for job j, which sends the same content: its
// record becomes pending and, unless it is j's source, it is listed in
// j.Joined.
func (t *txn) join(j *Job, nj NewJob) error {
	if err := t.putPending(nj); err != nil {
		return err
	}
	return t.addJoined(j, nj)
}

// joinFailed records nj's file as failed with j, which failed for the same
// content: sending it again would fail again (until `tilesyncd retry`).
func (t *txn) joinFailed(j *Job, nj NewJob) error {
	if err := t.putOutcome(nj, OutcomeFailed, j.LastError, false); err != nil {
		return err
	}
	return t.addJoined(j, nj)
}

// addJoined lists nj's file in j.Joined, unless it is j's source or listed.
func (t *txn) addJoined(j *Job, nj NewJob) error {
	if nj.File == nil || nj.Source == j.Source || slices.Contains(j.Joined, nj.Source) {
		return nil
	}
	j.Joined = append(j.Joined, nj.Source)
	return t.putJob(*j)
}

// recordHeld stores nj.File, if any, as unchanged: its tileset holds its
// content.
func (t *txn) recordHeld(nj NewJob) error {
	return t.putOutcome(nj, OutcomeUnchanged, "", true)
}

// putOutcome stores nj.File, if any, under nj's source and content with
// outcome and reason (its tileset nj's unless it names one), and appends
// history when withHistory.
func (t *txn) putOutcome(nj NewJob, outcome Outcome, reason string, withHistory bool) error {
	if nj.File == nil {
		return nil
	}
	rec := *nj.File
	rec.Key, rec.SHA256, rec.Outcome, rec.Reason, rec.UpdatedAt = nj.Source, nj.SHA256, outcome, reason, t.now
	if rec.Tileset == "" {
		rec.Tileset = nj.Tileset
	}
	if err := putFile(t.b(bucketFiles), rec); err != nil || !withHistory {
		return err
	}
	return t.addHistory(HistoryEntry{Tileset: nj.Tileset, Source: nj.Source, SHA256: nj.SHA256, Outcome: outcome, Message: reason})
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
