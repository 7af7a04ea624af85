package syncer

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// Shared folders (fleet mode, README "Fleet"): several nodes watch one
// folder, each with its own state, and one node at a time works on a
// tileset. Before a job of a shared folder sends anything, its worker
// claims the tileset's lease from the fleet, resolves an intent a previous
// holder left (through Mapbox's list, as a restart resolves its own), and
// ends the job without sending when the fleet's ledger shows the tileset
// holds its content. The create is preceded by a fenced intent; the claim
// is kept while Mapbox processes the upload, and released once the ledger
// records what the tileset holds. A job whose tileset another node holds,
// or that cannot reach the fleet, waits (fails closed); local folders go on.

// Coordinator is what the sender needs of the fleet for shared folders
// (daemon/fleet.go adapts *fleet.Fleet). Every call may fail when the
// fleet's Redis does not answer: the sender then waits.
type Coordinator interface {
	// Node is this node's name in the fleet.
	Node() string
	// Reachable reports whether the fleet's Redis answered lately, and
	// why not.
	Reachable() (bool, error)
	// Claim takes the tileset's lease if no other node holds it, else
	// returns an error wrapping ErrClaimHeld that names the holder.
	Claim(ctx context.Context, tileset string) (Claim, error)
	// Held is what the ledger records the tileset holds (ok false: nothing).
	Held(ctx context.Context, tileset string) (Held, bool, error)
	// Intent is the create a holder recorded before sending it (ok false: none).
	Intent(ctx context.Context, tileset string) (Intent, bool, error)
	// DataLosses counts the times Redis was seen to lose the fleet's data.
	DataLosses() int64
}

// Claim is this node's lease on one tileset (*fleet.Lease). Its ledger
// writes are fenced: they fail once the lease is lost or taken over.
type Claim interface {
	// TookOver names the previous holder when it let the lease expire.
	TookOver() (from string, ok bool)
	// Lost is closed once the lease is lost: work under it must stop.
	Lost() <-chan struct{}
	// SetIntent records, before a create, the content about to be created
	// and the staged object's URL (no credentials); it confirms the lease.
	SetIntent(ctx context.Context, hash, stagedURL string) error
	// ClearIntent forgets the intent: the create provably made nothing.
	ClearIntent(ctx context.Context) error
	// RecordHeld records that the tileset holds hash, made by uploadID.
	RecordHeld(ctx context.Context, hash, uploadID string) error
	// Release gives the lease up.
	Release(ctx context.Context) error
}

// Held is what the fleet's ledger records a tileset holds.
type Held struct {
	Hash, UploadID, Node string
}

// Intent is a create a holder recorded before sending it. Age is how long
// ago, measured by the fleet's Redis: no node's clock is involved.
type Intent struct {
	Node, Hash string
	Age        time.Duration
}

// ErrClaimHeld: another node works on the tileset.
var ErrClaimHeld = errors.New("another node of the fleet works on the tileset")

// sharedRetry is how soon a job waiting for a tileset another node holds,
// or for the fleet's Redis, tries again.
const sharedRetry = 2 * time.Second

// redisTimeout bounds the ledger writes made after the work (release,
// record) with a context of their own.
const redisTimeout = 5 * time.Second

// sharing is the sender's state of shared folders. Its own lock: workers,
// the poller and the dispatcher read it.
type sharing struct {
	c       Coordinator     // nil: no fleet
	folders map[string]bool // the shared watch folders

	mu     sync.Mutex
	claims map[uint64]*claimed    // the leases this node holds, by job
	waits  map[uint64]*sharedWait // jobs waiting for the fleet, by job
	unseen map[string]time.Time   // tileset → when an unvouched upload was first seen (seed.go)

	listMu sync.Mutex // a list answer vouch reuses (seed.go)
	list   []mapbox.Upload
	listAt time.Time
}

// claimed is one lease this node holds for a job.
type claimed struct {
	claim   Claim
	tileset string
	// intentSet: this claim recorded the intent of the create it sent.
	intentSet atomic.Bool
	// heldUpload is the upload the ledger showed the tileset holding when
	// claimed: recovery never takes it for this job's.
	heldUpload string
	// resolvedOwn: this node's own intent for this content was resolved
	// through the list and had made nothing.
	resolvedOwn atomic.Bool
}

// sharedWait is a job waiting for the fleet.
type sharedWait struct {
	tileset string
	reason  string
	until   time.Time // monotonic
	since   time.Time // the sender's clock
}

// SharedWait is a job of a shared folder that waits for the fleet, and why.
type SharedWait struct {
	JobID   uint64
	Tileset string
	Reason  string
	Since   time.Time
}

// SharedStatus is what the sender does in shared folders now.
type SharedStatus struct {
	// Claimed are the tilesets this node holds a lease on, sorted.
	Claimed []string
	// Waiting are the jobs waiting for the fleet (a lease another node
	// holds, an upload another node made still processing, Redis).
	Waiting []SharedWait
}

// init knows the watch folders marked shared when there is a fleet.
func (sh *sharing) init(c Coordinator, cfg *config.Config) {
	sh.c, sh.folders = c, map[string]bool{}
	sh.claims, sh.waits, sh.unseen = map[uint64]*claimed{}, map[uint64]*sharedWait{}, map[string]time.Time{}
	for _, w := range cfg.Watch {
		if c != nil && w.Shared {
			sh.folders[w.Path] = true
		}
	}
}

// Shared reports the claims and the waits of shared folders.
func (s *Syncer) Shared() SharedStatus {
	sh := &s.sharing
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var st SharedStatus
	for _, c := range sh.claims {
		st.Claimed = append(st.Claimed, c.tileset)
	}
	slices.Sort(st.Claimed)
	for id, w := range sh.waits {
		if time.Since(w.until) < 2*sharedRetry { // else the job went another way meanwhile
			st.Waiting = append(st.Waiting, SharedWait{JobID: id, Tileset: w.tileset, Reason: w.reason, Since: w.since})
		}
	}
	slices.SortFunc(st.Waiting, func(a, b SharedWait) int { return cmp.Compare(a.JobID, b.JobID) })
	return st
}

// sharedSends reports whether starting j sends something for a tileset
// of a shared folder, so that its worker must claim the tileset first (a
// job resuming at processing only polls).
func (s *Syncer) sharedSends(j state.Job) bool {
	if len(s.sharing.folders) == 0 || !s.sharing.folders[j.Source.Watch] {
		return false
	}
	return j.Stage != state.StageProcessing && !(j.Stage == state.StageRetryWait && j.RetryFrom == state.StageProcessing)
}

// dueNow is due, but for the jobs waiting for the fleet.
func (s *Syncer) dueNow(j state.Job) bool {
	if len(s.sharing.folders) > 0 {
		s.sharing.mu.Lock()
		var until time.Time
		if w := s.sharing.waits[j.ID]; w != nil {
			until = w.until // read under the lock: waitFleet moves it
		}
		s.sharing.mu.Unlock()
		if time.Now().Before(until) {
			return false
		}
	}
	return s.due(j)
}

// sharedWake is how long until the first job waiting for the fleet may try
// again (ok false if none waits).
func (s *Syncer) sharedWake() (time.Duration, bool) {
	sh := &s.sharing
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var first time.Time
	now := time.Now()
	for id, w := range sh.waits {
		switch {
		case now.Sub(w.until) > time.Minute:
			delete(sh.waits, id) // the job went another way long ago
		case !w.until.After(now):
			// Due already: a worker coming free, or the queue changing, wakes
			// the dispatcher.
		case first.IsZero() || w.until.Before(first):
			first = w.until
		}
	}
	if first.IsZero() {
		return 0, false
	}
	return time.Until(first), true
}

// waitFleet records that j waits for the fleet for d, and parks it: a queued job
// stays queued (newer content still replaces it), a retry-wait job is
// rescheduled, a job left in staging or staged by a stop waits to retry.
// It logs when the reason changes.
func (s *Syncer) waitFleet(j state.Job, d time.Duration, level slog.Level, reason string) {
	sh := &s.sharing
	until := time.Now().Add(d)
	sh.mu.Lock()
	w := sh.waits[j.ID]
	changed := w == nil || w.reason != reason
	if w == nil {
		w = &sharedWait{tileset: j.Tileset, since: s.now()}
		sh.waits[j.ID] = w
	}
	w.reason, w.until = reason, until
	sh.mu.Unlock()
	if changed {
		s.log.Log(context.Background(), level, "shared folder: waiting for the fleet", "job", j, "reason", reason, "retry_in", d.Round(time.Millisecond))
	}
	at := s.now().Add(d)
	var err error
	switch j.Stage {
	case state.StageRetryWait:
		_, err = s.store.Reschedule(j.ID, at)
	case state.StageStaging, state.StageStaged:
		_, err = s.store.RetryLater(j.ID, reason, at)
	}
	if err != nil {
		if !errors.Is(err, state.ErrInvalidTransition) && !errors.Is(err, state.ErrNotFound) {
			s.log.Error("park a job waiting for the fleet", "job", j, "err", err)
		}
		return
	}
	if j.Stage != state.StageQueued {
		s.scheduleRetry(j.ID, at)
	}
}

// unwait forgets that j waited.
func (s *Syncer) unwait(id uint64) {
	s.sharing.mu.Lock()
	delete(s.sharing.waits, id)
	s.sharing.mu.Unlock()
}

// workShared claims j's tileset, moves j into the stage its worker runs,
// works it under the lease (the work stops when the lease is lost), and
// keeps the lease while Mapbox processes the upload (released at settle).
func (s *Syncer) workShared(ctx context.Context, j state.Job) {
	cl, ok := s.claim(ctx, j)
	if !ok {
		signal(s.wake)
		return
	}
	keep := false
	defer func() {
		if !keep {
			s.unclaim(j.ID)
		}
	}()
	if j.Stage == state.StageQueued || j.Stage == state.StageRetryWait {
		if j, ok = s.begin(j); !ok {
			return
		}
	}
	wctx, stop := leaseContext(ctx, cl.claim)
	s.work(wctx, j)
	stop()
	cur, found, err := s.store.Job(j.ID)
	switch {
	case err != nil || !found:
	case cur.Stage == state.StageProcessing:
		keep = true // the poller's now; released at settle
	case ctx.Err() == nil && claimLost(cl.claim) && (cur.Stage == state.StageStaging || cur.Stage == state.StageStaged):
		s.waitFleet(cur, sharedRetry, slog.LevelWarn, "the lease on the tileset was lost (the fleet's Redis unreachable or slow?): the job stopped")
	}
}

// leaseContext is ctx, cancelled also when the lease is lost. stop ends
// the goroutine that watches the lease.
func leaseContext(ctx context.Context, c Claim) (context.Context, func()) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-c.Lost():
			cancel()
		case <-wctx.Done():
		}
	}()
	return wctx, func() { cancel(); <-done }
}

func claimLost(c Claim) bool {
	select {
	case <-c.Lost():
		return true
	default:
		return false
	}
}

// claimOf returns the lease this node holds for job id, or nil.
func (s *Syncer) claimOf(id uint64) *claimed {
	s.sharing.mu.Lock()
	defer s.sharing.mu.Unlock()
	return s.sharing.claims[id]
}

// unclaim releases the lease held for job id, if any.
func (s *Syncer) unclaim(id uint64) {
	sh := &s.sharing
	sh.mu.Lock()
	cl := sh.claims[id]
	delete(sh.claims, id)
	sh.mu.Unlock()
	if cl != nil {
		releaseClaim(cl.claim)
	}
}

// releaseClaim gives a lease up; a lease already lost needs nothing.
func releaseClaim(c Claim) {
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	_ = c.Release(ctx)
}
