package syncer

import (
	"context"
	"fmt"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// The fleet's ledger can lose what it knew: Redis restarted without its
// data, or a folder becomes shared while its tilesets already hold uploads
// made before. Mapbox's list tells which upload a tileset holds but not its
// content; only the node that made it knows its hash. So each node vouches
// for its own (reseed: at start, and whenever Redis is seen to lose its
// data), and a node about to send for a tileset whose newest upload it does
// not know, with the ledger silent, waits up to seedGrace for the node that
// made it to vouch, rather than send what the tileset may hold already.

// seedGrace is how long a claim waits for another node to vouch for an
// upload it made (that node may be gone: then the content is sent).
const seedGrace = 30 * time.Second

// Reseed pacing: how often the loop looks for a data loss, how soon a
// failed reseed is tried again, how many list pages it reads.
const (
	reseedTick  = time.Second
	reseedRetry = 10 * time.Second
	reseedPages = 3
)

// listFresh is how old a list answer vouch may reuse.
const listFresh = 2 * time.Second

// vouch is asked when the ledger records nothing for j's tileset. If the
// tileset's newest upload at Mapbox is the one this node's state records,
// the ledger is told (under cl) and its content returned; if it is an
// upload this node does not know, the claim waits for its maker (waitErr),
// up to seedGrace; with no upload, or once the grace has passed, nothing
// is known.
func (s *Syncer) vouch(ctx context.Context, j state.Job, cl *claimed) (Held, bool, error) {
	newest, complete, ok, err := s.newestMade(ctx, j) // shared_mts.go
	if err != nil || !ok {
		return Held{}, false, err
	}
	if !complete {
		return Held{}, false, waitErr{sharedRetry, fmt.Sprintf("%s %s of the tileset is processing, and the fleet's ledger does not know it", made(j), newest)}
	}
	rec, found, err := s.store.Tileset(j.Tileset)
	if err != nil {
		return Held{}, false, err
	}
	if found && rec.UploadID == newest {
		if err := cl.claim.RecordHeld(ctx, rec.SHA256, rec.UploadID); err != nil {
			return Held{}, false, err
		}
		return Held{Hash: rec.SHA256, UploadID: rec.UploadID, Node: s.sharing.c.Node()}, true, nil
	}
	sh := &s.sharing
	sh.mu.Lock()
	first, seen := sh.unseen[j.Tileset]
	if !seen {
		first = time.Now()
		sh.unseen[j.Tileset] = first
	}
	sh.mu.Unlock()
	if left := seedGrace - time.Since(first); left > 0 {
		return Held{}, false, waitErr{min(left, sharedRetry), fmt.Sprintf(
			"the fleet's ledger has no record of the tileset, and Mapbox shows %s %s that this node did not make: waiting for the node that made it to say what it holds (did Redis lose its data?)", made(j), newest)}
	}
	s.log.Warn("no node said what the tileset's newest upload holds: sending the content (it may be sent a second time)",
		"job", j, "upload_id", newest)
	return Held{}, false, nil
}

// newestUpload is the tileset's newest upload that did not fail, from the
// first page of Mapbox's list (reused for listFresh).
func (s *Syncer) newestUpload(ctx context.Context, tileset string) (mapbox.Upload, bool, error) {
	sh := &s.sharing
	sh.listMu.Lock()
	defer sh.listMu.Unlock()
	if sh.listAt.IsZero() || time.Since(sh.listAt) > listFresh {
		list, err := s.api.List(ctx, mapbox.ListOptions{Limit: mapbox.MaxListLimit})
		if err != nil {
			return mapbox.Upload{}, false, err
		}
		sh.list, sh.listAt = list, time.Now()
	}
	for _, u := range sh.list {
		if _, failed := u.Failed(); u.Tileset == tileset && !failed {
			return u, true, nil
		}
	}
	return mapbox.Upload{}, false, nil
}

// reseedLoop vouches for this node's uploads at start and whenever the
// fleet sees Redis lose its data, until ctx ends.
func (s *Syncer) reseedLoop(ctx context.Context) error {
	c := s.sharing.c
	seen := int64(-1)
	var retry time.Time
	t := time.NewTicker(reseedTick)
	defer t.Stop()
	for {
		if n := c.DataLosses(); n != seen || !retry.IsZero() && time.Now().After(retry) {
			if seen >= 0 && n != seen {
				s.log.Warn("the fleet's Redis lost its data: telling its ledger what this node's shared tilesets hold")
			}
			seen, retry = n, time.Time{}
			if err := s.reseed(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("could not tell the fleet's ledger what this node's shared tilesets hold; trying again", "retry_in", reseedRetry, "err", err)
				retry = time.Now().Add(reseedRetry)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// reseed records in the ledger, for each tileset of a shared folder that
// it knows nothing of, the content this node's state says the tileset
// holds, when Mapbox's list confirms that the tileset's newest upload is
// this node's.
func (s *Syncer) reseed(ctx context.Context) error {
	c := s.sharing.c
	if ok, err := c.Reachable(); !ok {
		return err
	}
	var mine []state.TilesetRecord
	if err := s.store.Tilesets(func(r state.TilesetRecord) error {
		if s.sharing.folders[r.Source.Watch] && r.UploadID != "" {
			mine = append(mine, r)
		}
		return nil
	}); err != nil {
		return err
	}
	missing := map[string]state.TilesetRecord{}
	for _, r := range mine {
		if _, ok, err := c.Held(ctx, r.Tileset); err != nil {
			return err
		} else if !ok {
			missing[r.Tileset] = r
		}
	}
	if len(missing) == 0 {
		return nil
	}
	newest, err := s.newestUploads(ctx, missing) // MTS tilesets: below
	if err != nil {
		return err
	}
	seeded := 0
	for ts, r := range missing {
		u, ok := newest[ts]
		id, complete := u.ID, u.Complete
		if r.Recipe != "" { // an MTS tileset: its newest publish job
			var err error
			if id, complete, ok, err = s.newestMade(ctx, state.Job{Tileset: ts, Target: state.TargetMTS}); err != nil {
				return err
			}
		}
		if ok && id == r.UploadID && complete && s.seedOne(ctx, r) {
			seeded++
		}
	}
	if seeded > 0 {
		s.log.Info("told the fleet's ledger what shared tilesets hold", "tilesets", seeded)
	}
	return nil
}

// newestUploads maps each tileset of want to its newest upload that did not
// fail, from the first reseedPages pages of Mapbox's list.
func (s *Syncer) newestUploads(ctx context.Context, want map[string]state.TilesetRecord) (map[string]mapbox.Upload, error) {
	out := map[string]mapbox.Upload{}
	opts := mapbox.ListOptions{Limit: mapbox.MaxListLimit}
	for page := 0; page < reseedPages && len(out) < len(want); page++ {
		list, next, err := s.api.ListPage(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, u := range list {
			if _, failed := u.Failed(); failed {
				continue
			}
			if _, ok := want[u.Tileset]; ok {
				if _, done := out[u.Tileset]; !done {
					out[u.Tileset] = u
				}
			}
		}
		if next == "" {
			break
		}
		opts.Start = next
	}
	return out, nil
}

// seedOne records r under a lease of its own, if no node holds the tileset
// and the ledger still knows nothing of it.
func (s *Syncer) seedOne(ctx context.Context, r state.TilesetRecord) bool {
	c := s.sharing.c
	lease, err := c.Claim(ctx, r.Tileset)
	if err != nil {
		return false // a node works on it: it records what it makes
	}
	defer releaseClaim(lease)
	_, held, err := c.Held(ctx, r.Tileset)
	if err != nil || held {
		return false
	}
	if _, intent, err := c.Intent(ctx, r.Tileset); err != nil || intent {
		return false // the next claim resolves it
	}
	return lease.RecordHeld(ctx, r.SHA256, r.UploadID) == nil
}

// made names what Mapbox makes for j: an upload, or an MTS publish job.
func made(j state.Job) string {
	if j.Target == state.TargetMTS {
		return "publish job"
	}
	return "upload"
}
