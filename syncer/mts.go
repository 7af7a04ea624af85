package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// MTSAPI is what the sender needs of the Mapbox Tiling Service
// (*mapbox.Client).
type MTSAPI interface {
	ReplaceSource(ctx context.Context, id string, data io.Reader) (mapbox.SourceInfo, error)
	ReplaceChangeset(ctx context.Context, id string, data io.Reader) (mapbox.SourceInfo, error)
	PublishChangesets(ctx context.Context, tileset string, layers map[string]string) (mapbox.PublishResult, error)
	CreateTileset(ctx context.Context, tileset string, t mapbox.NewTileset) error
	Recipe(ctx context.Context, tileset string) (json.RawMessage, error)
	UpdateRecipe(ctx context.Context, tileset string, recipe json.RawMessage) error
	Publish(ctx context.Context, tileset string) (mapbox.PublishResult, error)
	Job(ctx context.Context, tileset, jobID string) (mapbox.Job, error)
	ListJobs(ctx context.Context, tileset string, opts mapbox.JobListOptions) ([]mapbox.Job, string, error)
	ClockOffset() (time.Duration, bool)
}

var _ MTSAPI = (*mapbox.Client)(nil)

// mts is the Mapbox Tiling Service target. Stage replaces the job's
// tileset source with the file's converted bytes (the spool file intake
// made), after checking that they are the job's; Create makes sure the
// tileset exists with the job's recipe and publishes, the intent recorded
// before the publish is sent and a lost answer recovered from the
// tileset's jobs, so that a publish (billed) is never sent twice; Check
// reads each processing job's publish job. Publishes go one at a time and
// stop while the account has MTSMaxQueued of tilesyncd's jobs queued at
// Mapbox; the rate budget paces them apart (ratelimit.WithPublishBudget).
type mts struct {
	*Syncer
	api       MTSAPI
	maxQueued int
	pub       *publishing
	indexDir  string // the indexes of published content (mts_changeset.go)
}

var _ Target = mts{}

// publishing is what the MTS target's workers share.
type publishing struct {
	// slot makes the queue count and the publish that follows it one
	// step, and hands it out in queue order (mts_order.go).
	slot publishSlot
	// noChangesets: Mapbox refused a changeset for the account
	// (mts_changeset.go).
	noChangesets atomic.Bool
	// recipes holds the hash of the recipe each tileset that several
	// files feed was last given by this process (mts_layers.go).
	recipesMu sync.Mutex
	recipes   map[string]string
	// unsettled holds, by "source:ID" or "changeset:ID", until when a
	// replace that ended without an answer may still take effect
	// (mts_late.go).
	unsettledMu sync.Mutex
	unsettled   map[string]time.Time
	// stages holds the stage Mapbox last gave each processing job's
	// publish job (by state job ID); a job not in it counts as queued.
	stagesMu sync.Mutex
	stages   map[uint64]mapbox.JobStage
}

// newMTS returns the MTS target, or nil when there is no MTS client.
func newMTS(s *Syncer, opts Options) Target {
	api := opts.MTS
	if api == nil {
		api, _ = opts.API.(MTSAPI)
	}
	if api == nil {
		return nil
	}
	n := s.cfg.Mapbox.MTSMaxQueued
	if n <= 0 {
		n = config.DefaultMTSMaxQueued
	}
	return mts{Syncer: s, api: api, maxQueued: n, pub: &publishing{stages: map[uint64]mapbox.JobStage{}, slot: publishSlot{waiting: map[uint64]bool{}}, recipes: map[string]string{},
		unsettled: map[string]time.Time{}},
		indexDir: state.MTSIndexDir(s.cfg.State.Path)}
}

// targetOf is the target of job j.
func (s *Syncer) targetOf(j state.Job) Target {
	if j.Target != state.TargetMTS {
		return s.target
	}
	if s.mts == nil {
		return noMTS{}
	}
	return s.mts
}

// checkAll asks each target about its processing jobs.
func (s *Syncer) checkAll(ctx context.Context, jobs []state.Job, due func(state.Job) bool) ([]Status, error) {
	var up, mt []state.Job
	for _, j := range jobs {
		if j.Target == state.TargetMTS {
			mt = append(mt, j)
		} else {
			up = append(up, j)
		}
	}
	var out []Status
	var errs []error
	for _, js := range [][]state.Job{up, mt} {
		if len(js) > 0 {
			st, err := s.targetOf(js[0]).Check(ctx, js, due)
			out, errs = append(out, st...), append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// waitUntil makes a job wait until at before its next attempt; why says
// what for (handle logs it).
type waitUntil struct {
	at  time.Time
	why string
	err error
}

func (e waitUntil) Error() string {
	if e.err != nil {
		return e.why + ": " + e.err.Error()
	}
	return e.why
}

func (e waitUntil) Unwrap() error { return e.err }

// Stage replaces the job's tileset source with its converted bytes.
func (m mts) Stage(ctx context.Context, j state.Job) (state.Job, error) {
	p, err := m.source.SendPath(ctx, j)
	if err != nil {
		if errors.Is(err, state.ErrContentChanged) {
			return j, fmt.Errorf("%w: %w", errFileChanged, err)
		}
		return j, err
	}
	f, err := os.Open(p)
	if err != nil { // the spool's file, gone since: made again at the retry
		return j, fmt.Errorf("open %s: %v", p, err)
	}
	defer f.Close()
	sum, n, err := hashFrom(ctx, f)
	if err != nil {
		return j, err
	}
	if got := state.MTSContentHash(sum, j.Recipe); got != j.SHA256 {
		return j, fmt.Errorf("%w: queued %.12s, converted now %.12s", errFileChanged, j.SHA256, got)
	}
	if nj, staged, err := m.stageChangeset(ctx, j, p); staged || err != nil {
		return nj, err // an incremental rule's changes (mts_changeset.go)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return j, err
	}
	if err := m.settledFile("source", j.SourceID); err != nil {
		return j, err
	}
	m.log.Info("replacing the tileset source", "job", j, "source_id", j.SourceID, "bytes", n)
	info, err := m.api.ReplaceSource(ctx, j.SourceID, &sending{f: f, left: n, progress: func(sent int64) {
		m.mu.Lock()
		m.staging[j.ID] = Transfer{Sent: sent, Total: n}
		m.mu.Unlock()
	}})
	m.replaced("source", j.SourceID, err)
	if errors.Is(err, mapbox.ErrTilesetBusy) {
		return j, waitUntil{at: m.now().Add(min(busyWait<<min(j.Attempts, 6), 5*time.Minute)), err: err,
			why: "the tileset source is locked by a publish job reading it: waiting for the job to end, then replacing it"}
	}
	if err != nil {
		return j, err
	}
	if info.FileSize != 0 && info.FileSize != n {
		return j, fmt.Errorf("Mapbox received %s of the %s sent to source %s: %w", format.HumanBytes(info.FileSize), format.HumanBytes(n), j.SourceID, mapbox.ErrTransient)
	}
	m.stats.BytesStaged.Add(n)
	m.log.Info("tileset source replaced", "job", j, "source", info.ID, "bytes", n)
	return moved(j)(m.store.MarkStaged(j.ID, j.SHA256))
}

// hashFrom returns the hex SHA-256 of what r holds and its length,
// checking ctx between chunks.
func hashFrom(ctx context.Context, r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.CopyBuffer(h, format.ContextReader(ctx, r), make([]byte, 1<<20))
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// sending is the body of a source upload: the spool file's n bytes, with
// their count known (the request has a Content-Length) and progress told.
type sending struct {
	f        *os.File
	left     int64
	sent     int64
	progress func(sent int64)
}

func (s *sending) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.f.Read(p)
	s.left -= int64(n)
	s.sent += int64(n)
	s.progress(s.sent)
	if err == io.EOF && s.left > 0 {
		err = io.ErrUnexpectedEOF // the file shrank
	}
	return n, err
}

// Len is the bytes left to send.
func (s *sending) Len() int { return int(s.left) }

// Create publishes the job's tileset, unless a publish sent earlier (before
// a crash, or whose answer was lost) already did.
func (m mts) Create(ctx context.Context, j state.Job) (state.Job, error) {
	if err := m.sharedRecovery(&j); err != nil { // shared_ledger.go
		return j, err
	}
	if !j.CreateSentAt.IsZero() {
		// A request held up on the way may still take effect: look for
		// its job only once that can no longer happen.
		if wait := min(j.CreateLastSent.Add(m.quiet).Sub(m.now()), m.quiet); wait > 0 {
			return j, createUnsettled{at: m.now().Add(wait)}
		}
		found, ok, err := m.findPublish(ctx, j)
		if err != nil {
			return j, err
		}
		if ok {
			m.log.Info("found the job an earlier publish made (its answer was lost, or tilesyncd stopped): not publishing again",
				"job", j, "job_id", found.ID)
			return uploads{m.Syncer}.created(ctx, j, mapbox.Upload{ID: found.ID, Created: found.Created.Time()})
		}
	}
	// One publish at a time, in queue order: a worker finding the slot
	// taken (a publish waiting for the publish budget, 2 a minute), or an
	// older job waiting for it, comes back later, so that MTS jobs never
	// hold every worker while the Uploads API's jobs wait (mts_order.go).
	if !m.takeSlot(j) {
		return j, waitUntil{at: m.now().Add(busyWait + m.backoff.delay(min(j.Attempts, 3))),
			why: "another publish is being sent, or an older one waits (Mapbox allows 2 a minute): waiting for it"}
	}
	published := false
	defer func() { m.releaseSlot(j, published) }()
	n, err := m.queuedAtMapbox(j)
	if err != nil {
		return j, err
	}
	if n >= m.maxQueued {
		return j, waitUntil{at: m.now().Add(busyWait + m.backoff.delay(min(j.Attempts, 3))),
			why: fmt.Sprintf("%d of tilesyncd's publish jobs are queued at Mapbox, the most mapbox.mts_max_queued allows: waiting for one to start", n)}
	}
	published = true // from here on the slot is handed to the next in line
	// A shared folder's job records its intent (shared_ledger.go).
	if err := m.sharedCreating(ctx, &j); err != nil || j.Stage != state.StageStaged {
		return j, err
	}
	if err := m.ensureTileset(ctx, j, false); err != nil {
		return j, err
	}
	fresh := j.CreateSentAt.IsZero()
	now := m.now()
	var server time.Time
	if off, ok := m.api.ClockOffset(); ok {
		server = now.Add(off)
	}
	if j, err = moved(j)(m.store.CreateSent(j.ID, now, server)); err != nil {
		return j, err
	}
	res, err := m.publish(ctx, j)
	if err != nil {
		if fresh && provesNotCreated(err) {
			// Nothing was published: forget the intent (see uploads.create).
			j, _ = moved(j)(m.store.ClearCreateSent(j.ID))
			m.sharedNotCreated(ctx, j)
		}
		if fresh && changesetRefused(j, err) {
			return m.stageInFull(j, err)
		}
		if errors.Is(err, mapbox.ErrNotFound) && fresh {
			// The tileset was deleted at Mapbox since tilesyncd last published it.
			m.log.Warn("the tileset is gone at Mapbox: creating it again", "job", j)
			if err := m.ensureTileset(ctx, j, true); err != nil {
				return j, err
			}
			return j, waitUntil{at: m.now(), why: "publishing the tileset created again", err: err}
		}
		return j, err
	}
	m.setStage(j.ID, mapbox.JobQueued)
	return uploads{m.Syncer}.created(ctx, j, mapbox.Upload{ID: res.JobID, Created: now})
}

// ensureTileset makes sure the job's tileset exists with the job's recipe
// (for a layer of a tileset several files feed, the recipe of every layer:
// mts_layers.go): it creates it, and when MTS answers that it exists
// (400), compares its recipe and updates it if it differs. Unless force, a
// tileset last published by tilesyncd with this very recipe is taken as
// it is (no request).
func (m mts) ensureTileset(ctx context.Context, j state.Job, force bool) error {
	recipe, err := m.tilesetRecipe(j)
	if err != nil {
		return err
	}
	if !force && m.ensured(j, recipe) {
		return nil
	}
	tileset := apiTileset(j)
	name := j.Name
	if name == "" {
		_, name, _ = strings.Cut(tileset, ".")
	}
	err = m.api.CreateTileset(ctx, tileset, mapbox.NewTileset{Recipe: recipe, Name: name})
	switch {
	case err == nil:
		m.log.Info("tileset created", "job", j)
		m.setEnsured(j, recipe)
		return nil
	case !errors.Is(err, mapbox.ErrInvalid) || mapbox.RecipeErrors(err) != nil || mapbox.NotSent(err):
		return err // a recipe MTS refuses is permanent (ErrInvalid)
	}
	cur, rerr := m.api.Recipe(ctx, tileset) // the 400 says it exists
	if errors.Is(rerr, mapbox.ErrNotFound) {
		return err // it does not: the 400 was for something else
	}
	if rerr != nil {
		return rerr
	}
	if !sameJSON(cur, recipe) {
		m.log.Info("the tileset's recipe is not the rule's: updating it", "job", j)
		if err := m.api.UpdateRecipe(ctx, tileset, recipe); err != nil {
			return err
		}
	}
	m.setEnsured(j, recipe)
	return nil
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

// queuedAtMapbox counts tilesyncd's other MTS jobs whose publish job is
// (or may be) queued at Mapbox: processing here, and not seen processing
// or finished there.
func (m mts) queuedAtMapbox(j state.Job) (int, error) {
	jobs, err := m.store.ListJobs(state.JobFilter{Stages: []state.Stage{state.StageProcessing, state.StageRetryWait}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range jobs {
		if o.Target != state.TargetMTS || o.ID == j.ID || o.UploadID == "" ||
			o.Stage == state.StageRetryWait && o.RetryFrom != state.StageProcessing {
			continue
		}
		if st := m.stageOf(o.ID); st == "" || st == mapbox.JobQueued {
			n++
		}
	}
	return n, nil
}

func (m mts) setStage(id uint64, st mapbox.JobStage) {
	m.pub.stagesMu.Lock()
	defer m.pub.stagesMu.Unlock()
	if st.Done() {
		delete(m.pub.stages, id)
		return
	}
	m.pub.stages[id] = st
}

func (m mts) stageOf(id uint64) mapbox.JobStage {
	m.pub.stagesMu.Lock()
	defer m.pub.stagesMu.Unlock()
	return m.pub.stages[id]
}

// noMTS is the target of MTS jobs for a sender without an MTS client.
type noMTS struct{}

var errNoMTS = fmt.Errorf("an MTS job, and this sender has no MTS client: %w", mapbox.ErrInvalid)

func (noMTS) Stage(_ context.Context, j state.Job) (state.Job, error)  { return j, errNoMTS }
func (noMTS) Create(_ context.Context, j state.Job) (state.Job, error) { return j, errNoMTS }
func (noMTS) Check(_ context.Context, jobs []state.Job, _ func(state.Job) bool) ([]Status, error) {
	out := make([]Status, len(jobs))
	for i, j := range jobs {
		out[i] = Status{Job: j, UploadID: j.UploadID, Failed: errNoMTS.Error()}
	}
	return out, nil
}
