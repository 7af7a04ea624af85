package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// The fleet's ledger for MTS tilesets of a shared folder works as for the
// Uploads API's (shared_ledger.go, seed.go), with the tileset's publish
// jobs in place of the account's uploads: the intent is recorded before
// the publish (the billed step), the ledger records the publish job that
// built the content, and a node taking a tileset over resolves an intent
// through the tileset's jobs. The job list's order is undocumented, so
// every page read is searched, not only the first entries.

// mtsAPI is the MTS client of the sender, if it has one.
func (s *Syncer) mtsAPI() (MTSAPI, bool) {
	m, ok := s.mts.(mts)
	if !ok {
		return nil, false
	}
	return m.api, true
}

// resolvePublish is resolveIntent for an MTS job: the newest publish job of
// the tileset created since the intent was recorded (Mapbox's clock, less
// a margin), other than the one the ledger shows the tileset holding, and
// neither failed nor superseded. One not finished makes the job wait.
func (s *Syncer) resolvePublish(ctx context.Context, j state.Job, in Intent, heldJob string) (string, bool, error) {
	api, ok := s.mtsAPI()
	if !ok {
		return "", false, errNoMTS
	}
	recorded := time.Now().Add(-in.Age) // on this machine's monotonic reading of Redis' age
	var since time.Time
	best, found, err := s.publishJobs(ctx, api, j, func(mj mapbox.Job) (bool, error) {
		if since.IsZero() {
			off, _ := api.ClockOffset() // known after an answer
			since = recorded.Add(off).Add(-serverClockMargin)
		}
		return built(mj) && !mj.Created.Time().Before(since) && mj.ID != heldJob, nil
	})
	if err != nil {
		return "", false, err
	}
	if !found {
		return s.notFound(in)
	}
	if best.Stage != mapbox.JobSuccess {
		return "", false, waitErr{sharedRetry, fmt.Sprintf("publish job %s of the tileset, from node %s's publish, is %s", best.ID, in.Node, best.Stage)}
	}
	return best.ID, true, nil
}

// built reports whether a publish job may have built the tileset's
// content: it neither failed nor was superseded.
func built(mj mapbox.Job) bool {
	return mj.Stage != mapbox.JobFailed && mj.Stage != mapbox.JobSuperseded
}

// publishJobs returns the newest of j's tileset's publish jobs that keep
// accepts (keep is asked only of jobs newer than the best so far, and its
// error ends the search), from up to maxRecoveryPages pages of the list.
// A tileset MTS does not know has none.
func (s *Syncer) publishJobs(ctx context.Context, api MTSAPI, j state.Job, keep func(mapbox.Job) (bool, error)) (mapbox.Job, bool, error) {
	opts := mapbox.JobListOptions{Limit: mapbox.MaxMTSListLimit}
	var best mapbox.Job
	found := false
	for range maxRecoveryPages {
		list, next, err := api.ListJobs(ctx, apiTileset(j), opts)
		if errors.Is(err, mapbox.ErrNotFound) {
			return best, found, nil
		}
		if err != nil {
			return mapbox.Job{}, false, err
		}
		for _, mj := range list {
			if found && mj.Created <= best.Created {
				continue
			}
			ok, err := keep(mj)
			if err != nil {
				return mapbox.Job{}, false, err
			}
			if ok {
				best, found = mj, true
			}
		}
		if next == "" {
			return best, found, nil
		}
		opts.Start = next
	}
	s.log.Warn("the tileset's publish jobs are too many to read them all: judging from the first pages", "tileset", apiTileset(j))
	return best, found, nil
}

// newestMade is what vouch and reseed ask of Mapbox: the ID of the newest
// upload (for an MTS job, publish job) of j's tileset that did not fail,
// and whether it is finished.
func (s *Syncer) newestMade(ctx context.Context, j state.Job) (id string, complete, ok bool, err error) {
	if j.Target == state.TargetMTS {
		api, ok := s.mtsAPI()
		if !ok {
			return "", false, false, errNoMTS
		}
		mj, ok, err := s.publishJobs(ctx, api, j, func(mj mapbox.Job) (bool, error) { return built(mj), nil })
		return mj.ID, mj.Stage == mapbox.JobSuccess, ok, err
	}
	u, ok, err := s.newestUpload(ctx, j.Tileset)
	return u.ID, u.Complete, ok, err
}
