package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tilesyncd/tilesyncd/convert/changeset"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// Incremental rules (a recipe with "incremental": true). After the first
// full publish, a job whose tileset holds content tilesyncd published with
// the same recipe is staged as a changeset: the features added or changed
// since that content, whole, and {"id": …, "delete": true} for those
// removed, computed by feature id (package changeset). It is uploaded as
// the changeset named like the job's tileset source and published with
// publish-changesets, which re-tiles only what changed. The job falls back
// to a full replace and publish when its features lack unique ids, when
// more than changeset.DefaultMaxShare of them changed, when no index of
// the held content is kept, or when Mapbox refuses the changeset publish
// (a recipe changed since the last full publish, incremental updates not
// enabled for the account).
//
// What a diff needs is kept in the state folder's mts-index: one index per
// tileset and content (the content hash of the job that published it), so
// that the index of what the tileset holds is the one the state names,
// whatever a crash interrupted. An index is written when its content is
// staged, and those of older contents are removed when a publish succeeds.

// indexPath is the index of tileset's content sha.
func (m mts) indexPath(tileset, sha string) string {
	return state.MTSIndexPath(m.cfg.State.Path, tileset, sha)
}

// stageChangeset stages j, an MTS job, as a changeset against the content
// its tileset holds when its rule is incremental and a changeset can say
// the difference; staged is false when j must be staged in full (its
// content's index is written for the next time either way).
func (m mts) stageChangeset(ctx context.Context, j state.Job, converted string) (nj state.Job, staged bool, err error) {
	if !j.Incremental || !incrementalRecipe(j.Recipe) || m.pub.noChangesets.Load() {
		return j, false, nil
	}
	if err := os.MkdirAll(m.indexDir, 0o700); err != nil {
		return j, false, err
	}
	old := ""
	ts, ok, err := m.store.Tileset(j.Tileset)
	if err != nil {
		return j, false, err
	}
	if ok && ts.UploadID != "" && ts.Recipe == state.RecipeHash(j.Recipe) && ts.SHA256 != j.SHA256 {
		old = m.indexPath(j.Tileset, ts.SHA256)
		if cl := m.claimOf(j.ID); m.sharing.folders[j.Source.Watch] && (cl == nil || cl.heldUpload != ts.UploadID) {
			// A shared folder's tileset that another node published since
			// this node did: the changeset's base is unknown here.
			old = ""
		}
	}
	newIndex := m.indexPath(j.Tileset, j.SHA256)
	f, err := os.CreateTemp(m.indexDir, "changeset-*.geojsonl")
	if err != nil {
		return j, false, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	res, err := changeset.Diff(ctx, old, converted, f, newIndex, changeset.DefaultMaxShare)
	switch {
	case err != nil && ctx.Err() != nil:
		return j, false, ctx.Err()
	case err != nil:
		m.log.Warn("cannot compute a changeset: publishing in full", "job", j, "err", err)
		return j, false, nil
	case old == "":
		return j, false, nil // the first publish, or after a recipe change: in full
	case res.Full || res.Changes() == 0:
		reason := res.Reason
		if !res.Full {
			reason = "no feature changed (only their order or spelling)"
		}
		m.log.Info("publishing in full, not as a changeset", "job", j, "reason", reason)
		return j, false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return j, false, err
	}
	m.log.Info("uploading the changeset", "job", j, "changeset_id", j.SourceID, "added", res.Added, "changed", res.Changed,
		"removed", res.Removed, "features", res.Features, "bytes", res.Bytes)
	if err := m.settledFile("changeset", j.SourceID); err != nil {
		return j, true, err
	}
	info, err := m.api.ReplaceChangeset(ctx, j.SourceID, &sending{f: f, left: res.Bytes, progress: func(sent int64) {
		m.mu.Lock()
		m.staging[j.ID] = Transfer{Sent: sent, Total: res.Bytes}
		m.mu.Unlock()
	}})
	m.replaced("changeset", j.SourceID, err)
	if errors.Is(err, mapbox.ErrUnauthorized) || errors.Is(err, mapbox.ErrMissingScope) {
		m.refuseChangesets(err) // the account's: the source replace tells a refused token
		return j, false, nil
	}
	if err != nil {
		return j, true, err
	}
	if info.FileSize != 0 && info.FileSize != res.Bytes {
		return j, true, fmt.Errorf("Mapbox received %d of the %d bytes sent to changeset %s: %w", info.FileSize, res.Bytes, j.SourceID, mapbox.ErrTransient)
	}
	m.stats.BytesStaged.Add(res.Bytes)
	nj, err = moved(j)(m.store.MarkStagedChangeset(j.ID, j.SHA256, j.SourceID))
	return nj, true, err
}

// publish sends j's publish: publish-changesets for a job staged as a
// changeset, else a full publish.
func (m mts) publish(ctx context.Context, j state.Job) (mapbox.PublishResult, error) {
	if j.Changeset == "" {
		return m.api.Publish(ctx, apiTileset(j))
	}
	layers := changesetLayers(j)
	if len(layers) == 0 {
		return mapbox.PublishResult{}, fmt.Errorf("no layer of the recipe reads source %s: %w", j.SourceID, errChangesetRefused)
	}
	return m.api.PublishChangesets(ctx, apiTileset(j), layers)
}

// errChangesetRefused: a job staged as a changeset must be published in
// full instead.
var errChangesetRefused = errors.New("the changeset cannot be published")

// changesetRefused reports whether the changeset publish of j failed in a
// way that a full publish mends: MTS does not take changesets for the
// tileset (never published in full, not incremental, a recipe changed
// since its last full publish, incremental updates not enabled), and the
// request provably started nothing.
func changesetRefused(j state.Job, err error) bool {
	if j.Changeset == "" {
		return false
	}
	if errors.Is(err, errChangesetRefused) {
		return true
	}
	return provesNotCreated(err) && (errors.Is(err, mapbox.ErrNotFound) || errors.Is(err, mapbox.ErrInvalid) || errors.Is(err, mapbox.ErrUnauthorized))
}

// stageInFull makes a job whose changeset Mapbox refused stage again, in
// full: the index of the content its tileset holds is removed, so that no
// changeset is computed against it.
func (m mts) stageInFull(j state.Job, cause error) (state.Job, error) {
	if errors.Is(cause, mapbox.ErrUnauthorized) {
		m.refuseChangesets(cause)
	}
	if ts, ok, err := m.store.Tileset(j.Tileset); err == nil && ok {
		os.Remove(m.indexPath(j.Tileset, ts.SHA256))
	}
	m.log.Warn("Mapbox refused the changeset: staging the tileset source again, to publish in full", "job", j, "err", cause)
	nj, err := moved(j)(m.store.Restage(j.ID, "changeset refused: "+cause.Error()))
	if err != nil {
		return nj, err
	}
	return nj, waitUntil{at: m.now(), why: "publishing in full", err: cause}
}

// refuseChangesets notes that Mapbox does not take changesets from this
// account (401: incremental updates are enabled per account): until
// tilesyncd restarts, incremental rules publish in full.
func (m mts) refuseChangesets(err error) {
	if !m.pub.noChangesets.Swap(true) {
		m.log.Warn("Mapbox refuses changesets for this account (ask Mapbox to enable MTS Incremental Update): incremental rules publish in full until tilesyncd restarts", "err", err)
	}
}

// pruneIndexes removes the indexes of tileset's contents but keep's and
// those of its jobs still under way.
func (m mts) pruneIndexes(tileset, keep string) {
	names, _ := filepath.Glob(filepath.Join(m.indexDir, tileset+".*.idx"))
	if len(names) <= 1 {
		return
	}
	live := map[string]bool{m.indexPath(tileset, keep): true}
	if jobs, err := m.store.ListJobs(state.JobFilter{Tileset: tileset}); err == nil {
		for _, o := range jobs {
			live[m.indexPath(tileset, o.SHA256)] = true
		}
	} else {
		return
	}
	for _, n := range names {
		if !live[n] {
			os.Remove(n)
		}
	}
}

// incrementalRecipe reports whether a rendered recipe says "incremental": true.
func incrementalRecipe(recipe json.RawMessage) bool {
	var top struct {
		Incremental bool `json:"incremental"`
	}
	return json.Unmarshal(recipe, &top) == nil && top.Incremental
}

// changesetLayers maps each layer of j's recipe that reads j's tileset
// source to j's changeset.
func changesetLayers(j state.Job) map[string]string {
	var r struct {
		Layers map[string]struct {
			Source string `json:"source"`
		} `json:"layers"`
	}
	if json.Unmarshal(j.Recipe, &r) != nil {
		return nil
	}
	out := map[string]string{}
	for name, l := range r.Layers {
		if strings.HasPrefix(l.Source, "mapbox://tileset-source/") && strings.HasSuffix(l.Source, "/"+j.SourceID) {
			out[name] = j.Changeset
		}
	}
	return out
}
