package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// claim takes j's tileset for this node and settles what the fleet's
// ledger says of it. It reports false when j must not be worked now: it
// waits (another node holds the tileset, an upload of it is processing,
// Redis does not answer), or it ended (the tileset holds its content).
func (s *Syncer) claim(ctx context.Context, j state.Job) (*claimed, bool) {
	c := s.sharing.c
	if ok, err := c.Reachable(); !ok {
		// The fleet logs the outage once; each job's wait is in status.
		s.waitFleet(j, sharedRetry, slog.LevelDebug, fmt.Sprintf("the fleet's Redis is unreachable, so shared folders wait (fail closed): %v", err))
		return nil, false
	}
	lease, err := c.Claim(ctx, j.Tileset)
	if err != nil {
		if errors.Is(err, ErrClaimHeld) {
			s.waitFleet(j, sharedRetry, slog.LevelInfo, err.Error())
		} else if ctx.Err() == nil {
			s.waitFleet(j, sharedRetry, slog.LevelWarn, "cannot claim the tileset from the fleet: "+err.Error())
		}
		return nil, false
	}
	if from, ok := lease.TookOver(); ok {
		s.log.Info("took the tileset over from a node that let its lease expire: its intent is resolved through Mapbox's list",
			"job", j, "from", from)
	}
	cl := &claimed{claim: lease, tileset: j.Tileset}
	ended, err := s.settleLedger(ctx, j, cl)
	if err != nil || ended {
		releaseClaim(lease)
		var w waitErr
		switch {
		case errors.As(err, &w):
			s.waitFleet(j, w.d, slog.LevelInfo, w.reason)
		case err != nil && ctx.Err() == nil:
			s.waitFleet(j, sharedRetry, slog.LevelWarn, "cannot read the fleet's ledger: "+err.Error())
		}
		return nil, false
	}
	s.unwait(j.ID)
	s.sharing.mu.Lock()
	s.sharing.claims[j.ID] = cl
	s.sharing.mu.Unlock()
	return cl, true
}

// waitErr: the job waits d before claiming again, for reason.
type waitErr struct {
	d      time.Duration
	reason string
}

func (w waitErr) Error() string { return w.reason }

// settleLedger resolves an intent a previous holder left, makes sure the
// ledger knows what the tileset holds (seed.go), and ends j when the
// tileset holds its content. It reports whether j ended.
func (s *Syncer) settleLedger(ctx context.Context, j state.Job, cl *claimed) (bool, error) {
	c := s.sharing.c
	in, hasIntent, err := c.Intent(ctx, j.Tileset)
	if err != nil {
		return false, err
	}
	held, hasHeld, err := c.Held(ctx, j.Tileset)
	if err != nil {
		return false, err
	}
	if hasIntent {
		up, found, err := s.resolveIntent(ctx, j, in, held.UploadID)
		if err != nil {
			return false, err
		}
		if found {
			if err := cl.claim.RecordHeld(ctx, in.Hash, up); err != nil {
				return false, err
			}
			held, hasHeld = Held{Hash: in.Hash, UploadID: up, Node: in.Node}, true
			s.log.Info("resolved a create the fleet had not settled: Mapbox made the upload, and the ledger now records it",
				"tileset", j.Tileset, "node", in.Node, "sha256", shortHash(in.Hash), "upload_id", up)
		} else {
			if err := cl.claim.ClearIntent(ctx); err != nil {
				return false, err
			}
			cl.resolvedOwn.Store(in.Node == c.Node() && in.Hash == j.SHA256)
			s.log.Info("resolved a create the fleet had not settled: it made nothing", "tileset", j.Tileset, "node", in.Node, "sha256", shortHash(in.Hash))
		}
	}
	if !hasHeld {
		if held, hasHeld, err = s.vouch(ctx, j, cl); err != nil {
			return false, err
		}
	}
	if hasHeld && held.Hash == j.SHA256 {
		msg := fmt.Sprintf("not sent: the fleet's ledger shows the tileset holds this content (upload %s, node %s)", held.UploadID, held.Node)
		if _, err := s.store.EndHeld(j.ID, held.UploadID, msg); err != nil {
			if errors.Is(err, state.ErrInvalidTransition) || errors.Is(err, state.ErrNotFound) {
				return true, nil // moved on meanwhile (superseded, retried)
			}
			return false, err
		}
		s.unwait(j.ID)
		s.stats.Unchanged.Add(1)
		s.log.Info("skip: the fleet's ledger shows the tileset holds this content", "job", j, "upload_id", held.UploadID, "node", held.Node)
		s.source.Done(j)
		signal(s.wake)
		return true, nil
	}
	cl.heldUpload = held.UploadID
	return false, nil
}

// resolveIntent finds out, from Mapbox's list, whether the create an
// intent announced made an upload: an upload of the tileset created since
// the intent was recorded (Mapbox's clock, less a margin), other than the
// one the ledger shows the tileset holding, and not failed; the newest
// such. One still processing, or an intent too young for its create to
// have surely arrived, makes the job wait (waitErr).
func (s *Syncer) resolveIntent(ctx context.Context, j state.Job, in Intent, heldUpload string) (string, bool, error) {
	if j.Target == state.TargetMTS {
		return s.resolvePublish(ctx, j, in, heldUpload) // shared_mts.go
	}
	recorded := time.Now().Add(-in.Age) // on this machine's monotonic reading of Redis' age
	opts := mapbox.ListOptions{Limit: mapbox.MaxListLimit}
	var since time.Time
	for page := 0; page < maxRecoveryPages; page++ {
		list, next, err := s.api.ListPage(ctx, opts)
		if err != nil {
			return "", false, err
		}
		if page == 0 {
			off, _ := s.api.ClockOffset() // known after an answer
			since = recorded.Add(off).Add(-serverClockMargin)
		}
		for _, u := range list { // newest first
			if u.Created.Before(since) {
				return s.notFound(in)
			}
			if u.Tileset != j.Tileset || u.ID == heldUpload {
				continue
			}
			if _, failed := u.Failed(); failed {
				continue // the tileset does not hold it
			}
			if !u.Complete {
				return "", false, waitErr{sharedRetry, fmt.Sprintf("upload %s of the tileset, from node %s's create, is processing", u.ID, in.Node)}
			}
			return u.ID, true, nil
		}
		if next == "" {
			return s.notFound(in)
		}
		opts.Start = next
	}
	s.log.Warn("cannot confirm whether a create the fleet announced was received: Mapbox's list is too long to read back to it",
		"tileset", j.Tileset, "node", in.Node)
	return s.notFound(in)
}

// notFound: nothing was found for the intent; while its create may still
// take effect (CreateQuiet), the job waits.
func (s *Syncer) notFound(in Intent) (string, bool, error) {
	if in.Age < s.quiet {
		return "", false, waitErr{s.quiet - in.Age, fmt.Sprintf("node %s's create may still take effect: looking for it again once it cannot", in.Node)}
	}
	return "", false, nil
}

// sharedRecovery, at the start of a create: when the fleet resolved this
// node's own intent for the job's content and found it made nothing, the
// job's own record of a create sent is forgotten too (the list need not be
// searched again, and the ledger's word is the fleet's).
func (s *Syncer) sharedRecovery(j *state.Job) error {
	cl := s.claimOf(j.ID)
	if cl == nil || !cl.resolvedOwn.Load() || j.CreateSentAt.IsZero() {
		return nil
	}
	cl.resolvedOwn.Store(false)
	nj, err := s.store.ClearCreateSent(j.ID)
	if err != nil {
		return err
	}
	*j = nj
	return nil
}

// sharedKnown reports whether uploadID is the one the fleet's ledger showed
// j's tileset holding when j claimed it: create recovery never takes it.
func (s *Syncer) sharedKnown(j state.Job, uploadID string) bool {
	cl := s.claimOf(j.ID)
	return cl != nil && cl.heldUpload == uploadID
}

// sharedCreating runs right before a create (an MTS job's publish) of a
// shared folder's job: a job whose files no longer hold its content is
// cancelled (a newer job sends what they hold; sending this one would put
// an older content back for a while, and make the newer one a second
// create), else the intent is recorded, fenced, which confirms the lease.
// j becomes the job as stored (StageDone when cancelled).
func (s *Syncer) sharedCreating(ctx context.Context, j *state.Job) error {
	cl := s.claimOf(j.ID)
	if cl == nil {
		return nil
	}
	if s.outdated(*j) {
		nj := *j
		var err error
		if !nj.CreateSentAt.IsZero() { // recovery found nothing: no upload to account for
			if nj, err = s.store.ClearCreateSent(j.ID); err != nil {
				return err
			}
		}
		if nj, err = s.store.Cancel(j.ID, "superseded: its file changed before it was created (shared folder)"); err != nil {
			return err
		}
		s.stats.Cancelled.Add(1)
		s.log.Info("cancelled: the file changed before the create; the newer content is sent instead", "job", *j)
		*j = nj
		return nil
	}
	staged := "mapbox://tileset-source/" + j.SourceID // an MTS job's content is its tileset source
	if j.Target != state.TargetMTS {
		if j.Credentials == nil {
			return errors.New("a staged job without staging credentials")
		}
		staged = j.Credentials.URL
	}
	if err := cl.claim.SetIntent(ctx, j.SHA256, staged); err != nil {
		return err
	}
	cl.intentSet.Store(true)
	return nil
}

// outdated reports whether none of j's files holds its content any more.
func (s *Syncer) outdated(j state.Job) bool {
	for _, k := range append([]state.FileKey{j.Source}, j.Joined...) {
		rec, ok, err := s.store.File(k)
		if err != nil || ok && rec.SHA256 == j.SHA256 && rec.Tileset == j.Tileset {
			return false
		}
	}
	return true
}

// sharedNotCreated: the create provably made nothing; the intent goes.
func (s *Syncer) sharedNotCreated(ctx context.Context, j state.Job) {
	cl := s.claimOf(j.ID)
	if cl == nil || !cl.intentSet.Load() {
		return
	}
	if err := cl.claim.ClearIntent(ctx); err == nil {
		cl.intentSet.Store(false)
	}
}

// sharedDone: Mapbox processed the job's upload. The ledger records what the
// tileset holds now, unless it already records newer content (this upload
// was found by recovery after another node moved the tileset on), and the
// lease goes. Without a lease (this node restarted while Mapbox processed),
// one is taken if free, and the ledger is told only what is surely true:
// this node's own intent for this content was the last one, or the ledger
// knows nothing of the tileset.
func (s *Syncer) sharedDone(j state.Job, uploadID string) {
	if !s.sharing.folders[j.Source.Watch] {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	sh := &s.sharing
	sh.mu.Lock()
	cl := sh.claims[j.ID]
	delete(sh.claims, j.ID)
	sh.mu.Unlock()
	if cl != nil && claimLost(cl.claim) { // Redis was out of reach, or lost its data
		releaseClaim(cl.claim)
		cl = nil
	}
	own := cl != nil && cl.intentSet.Load()
	if cl == nil {
		lease, err := sh.c.Claim(ctx, j.Tileset)
		if err != nil {
			return // the node that holds it, or the next, resolves the intent
		}
		cl = &claimed{claim: lease, tileset: j.Tileset}
	}
	defer releaseClaim(cl.claim)
	if !own {
		in, hasIntent, err := sh.c.Intent(ctx, j.Tileset)
		if err != nil {
			return
		}
		_, hasHeld, err := sh.c.Held(ctx, j.Tileset)
		if err != nil {
			return
		}
		own = hasIntent && in.Node == sh.c.Node() && in.Hash == j.SHA256 || !hasIntent && !hasHeld
	}
	if !own {
		return
	}
	if err := cl.claim.RecordHeld(ctx, j.SHA256, uploadID); err != nil {
		s.log.Warn("could not record in the fleet's ledger what the tileset holds: the next node resolves it through Mapbox's list",
			"job", j, "upload_id", uploadID, "err", err)
	}
}

// sharedFailed: the job's upload failed at Mapbox (or lost its staged
// bytes): the tileset does not hold it, the intent goes, and the lease.
func (s *Syncer) sharedFailed(j state.Job) {
	cl := s.claimOf(j.ID)
	if cl == nil {
		return
	}
	if cl.intentSet.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
		_ = cl.claim.ClearIntent(ctx)
		cancel()
	}
	s.unclaim(j.ID)
}

func shortHash(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
