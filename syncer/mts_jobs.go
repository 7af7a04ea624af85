package syncer

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// findPublish looks in the tileset's jobs for the one an earlier publish of
// the job made: created, on Mapbox's clock, since that publish was sent
// (less a margin, as for an upload's create), and not already accounted for
// in the state (the tileset's last publish, its history, its other jobs).
// The newest such wins. A tileset without jobs (404) has none.
func (m mts) findPublish(ctx context.Context, j state.Job) (mapbox.Job, bool, error) {
	return m.publishJobs(ctx, m.api, j, func(mj mapbox.Job) (bool, error) {
		if mj.Created.Time().Before(uploads{m.Syncer}.recoverySince(j)) { // after an answer: Mapbox's clock is known
			return false, nil
		}
		known, err := m.store.KnownUpload(j.Tileset, mj.ID)
		return err == nil && !known && !m.sharedKnown(j, mj.ID), err
	})
}

// Check reads the publish job of each due processing job, one request a
// job (MTS has no list across tilesets). Statuses read before an error are
// returned with it.
func (m mts) Check(ctx context.Context, jobs []state.Job, due func(state.Job) bool) ([]Status, error) {
	var out []Status
	for _, j := range jobs {
		if !due(j) {
			continue
		}
		mj, err := m.api.Job(ctx, apiTileset(j), j.UploadID)
		if err != nil {
			if errors.Is(err, mapbox.ErrNotFound) {
				out = append(out, Status{Job: j, UploadID: j.UploadID, Failed: "Mapbox no longer knows publish job " + j.UploadID})
				continue
			}
			return out, err
		}
		st, ok, err := m.status(ctx, j, mj)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, st)
		}
	}
	return out, nil
}

// status is what the publish job mj says of j. A superseded publish job is
// settled here (the job follows the newer one, or publishes again) and
// left out (ok false).
func (m mts) status(ctx context.Context, j state.Job, mj mapbox.Job) (st Status, ok bool, err error) {
	m.setStage(j.ID, mj.Stage)
	st = Status{Job: j, UploadID: mj.ID}
	switch mj.Stage {
	case mapbox.JobSuccess:
		nj, err := m.store.MTSFinished(j.ID, mj.CU, mj.Warnings)
		if err != nil {
			return st, false, err
		}
		m.stats.MTS.ended(mj)
		m.pruneIndexes(j.Tileset, j.SHA256)
		if len(mj.Warnings) > 0 {
			m.log.Warn("published, with warnings", "job", nj, "job_id", mj.ID, "cu", mj.CU,
				"codes", mj.WarningCodes(), "warnings", mj.Warnings)
		} else {
			m.log.Info("published", "job", nj, "job_id", mj.ID, "cu", mj.CU)
		}
		st.Job, st.Complete = nj, true
	case mapbox.JobFailed:
		msg := strings.Join(mj.Errors, "; ")
		if msg == "" {
			msg = "no error given"
		}
		st.Failed = "Mapbox could not publish the tileset (job " + mj.ID + "): " + msg
		m.stats.MTS.ended(mj)
	case mapbox.JobSuperseded:
		if err := m.superseded(ctx, j, mj); err != nil {
			return st, false, err
		}
		m.stats.MTS.ended(mj)
		return st, false, nil
	}
	return st, true, nil
}

// superseded settles a job whose publish job Mapbox superseded: a newer
// job of the tileset (queued, processing or done) reads the same source,
// which still holds the job's bytes (nothing replaces it while the job is
// in flight), so the job follows that one rather than publish again. With
// no such job, it publishes again (its source replaced again first).
func (m mts) superseded(ctx context.Context, j state.Job, mj mapbox.Job) error {
	newer, ok, err := m.newerJob(ctx, j, mj)
	if err != nil {
		return err
	}
	if ok {
		nj, err := m.store.Follow(j.ID, newer.ID, newer.Created.Time(), "superseded at Mapbox by job "+newer.ID+", which covers it")
		if err != nil {
			return err
		}
		m.setStage(nj.ID, newer.Stage)
		m.log.Info("Mapbox superseded the publish job with a newer one of the tileset, which reads the same source: following it, not publishing again",
			"job", nj, "superseded_job_id", mj.ID, "job_id", newer.ID)
		return nil
	}
	m.log.Warn("Mapbox superseded the publish job, and no newer job of the tileset covers it: publishing again", "job", j, "job_id", mj.ID)
	nj, err := m.store.Restage(j.ID, "superseded at Mapbox, by no job that covers it")
	if err == nil {
		_, err = m.store.RetryLater(nj.ID, "publishing again: job "+mj.ID+" was superseded", m.now())
	}
	signal(m.wake)
	return err
}

// newerJob returns the newest job of the tileset created after mj that
// was not superseded and did not fail.
func (m mts) newerJob(ctx context.Context, j state.Job, mj mapbox.Job) (mapbox.Job, bool, error) {
	list, _, err := m.api.ListJobs(ctx, apiTileset(j), mapbox.JobListOptions{Limit: mapbox.MaxMTSListLimit})
	if err != nil {
		return mapbox.Job{}, false, err
	}
	list = slices.DeleteFunc(list, func(o mapbox.Job) bool {
		return o.ID == mj.ID || o.Created < mj.Created || o.Stage == mapbox.JobSuperseded || o.Stage == mapbox.JobFailed
	})
	if len(list) == 0 {
		return mapbox.Job{}, false, nil
	}
	return slices.MaxFunc(list, func(a, b mapbox.Job) int { return int(a.Created - b.Created) }), true, nil
}
