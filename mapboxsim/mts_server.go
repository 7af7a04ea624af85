package mapboxsim

import (
	"net/http"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// The scopes of MTS tokens (Options.Token holds them all).
const (
	ScopeTilesetsWrite = mapbox.ScopeTilesetsWrite
	ScopeTilesetsRead  = mapbox.ScopeTilesetsRead
	ScopeTilesetsList  = mapbox.ScopeTilesetsList
)

// MTSOptions configure the Mapbox Tiling Service routes (Options.MTS). Zero
// values take the defaults noted; durations are on the server clock.
type MTSOptions struct {
	// QueueTime is the least time a job stays queued (default 1 s).
	QueueTime time.Duration
	// ProcessingTime is how long a job processes (default 5 s).
	ProcessingTime time.Duration
	// RateLimits override mapbox.MTSRateLimits (requests a minute per
	// endpoint); a negative value makes an endpoint unlimited.
	RateLimits map[mapbox.Endpoint]int
	// Unlimited turns every MTS rate limit off.
	Unlimited bool
	// MaxQueued is the most jobs an account may have queued (default 5).
	MaxQueued int
	// QueueFullStatus answers a publish past MaxQueued: 422 (default,
	// "Too many jobs queued …"), 409 or 429 (Mapbox documents none).
	QueueFullStatus int
	// FIFO runs every queued job of a tileset in arrival order. By default a
	// full publish supersedes the queued full publishes of its tileset: only
	// the newest waits. Changeset jobs are never superseded.
	FIFO bool
	// LockQueued makes queued jobs lock their sources too; by default only
	// a processing job does (409 on modifying or deleting the source).
	LockQueued bool
	// JobsOldestFirst lists jobs oldest first (default newest first).
	JobsOldestFirst bool
	// MaxFiles (default 10), MaxFileSize (20 GB) and MaxSourceSize (50 GB)
	// bound a source or changeset.
	MaxFiles                   int
	MaxFileSize, MaxSourceSize int64
	// OverLimitStatus answers an upload past those limits, with a body
	// carrying "message" and "error": 422 (default), or 200 (a 200 that
	// carries "error", which Mapbox's docs allow for).
	OverLimitStatus int
	// RecipeInvalidStatus answers a create or recipe PATCH with an invalid
	// recipe: 400 (default) or 422.
	RecipeInvalidStatus int
	// ValidateInvalidStatus answers validateRecipe for an invalid recipe
	// (the body says "valid": false): 200 (default), 400 or 422.
	ValidateInvalidStatus int
	// MaxZoom is the highest zoom a recipe may ask (default 16; 22 for
	// accounts with the 1 cm tier).
	MaxZoom int
	// IncrementalDisabled refuses changeset uploads and publish-changesets
	// with 401, as for an account Mapbox has not enabled.
	IncrementalDisabled bool
	// CreateChecksSources makes tileset create and recipe PATCH refuse a
	// layer whose source does not exist (by default only publish does).
	CreateChecksSources bool
}

// withDefaults fills the zero values.
func (o MTSOptions) withDefaults() MTSOptions {
	if o.QueueTime <= 0 {
		o.QueueTime = time.Second
	}
	if o.ProcessingTime <= 0 {
		o.ProcessingTime = 5 * time.Second
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 5
	}
	if o.QueueFullStatus != http.StatusConflict && o.QueueFullStatus != http.StatusTooManyRequests {
		o.QueueFullStatus = http.StatusUnprocessableEntity
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 10
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = 20 << 30
	}
	if o.MaxSourceSize <= 0 {
		o.MaxSourceSize = 50 << 30
	}
	if o.OverLimitStatus != http.StatusOK && o.OverLimitStatus != http.StatusBadRequest {
		o.OverLimitStatus = http.StatusUnprocessableEntity
	}
	if o.RecipeInvalidStatus != http.StatusUnprocessableEntity {
		o.RecipeInvalidStatus = http.StatusBadRequest
	}
	if o.ValidateInvalidStatus != http.StatusBadRequest && o.ValidateInvalidStatus != http.StatusUnprocessableEntity {
		o.ValidateInvalidStatus = http.StatusOK
	}
	if o.MaxZoom <= 0 {
		o.MaxZoom = 16
	}
	return o
}

// mtsState is everything the MTS routes hold, guarded by Server.mu.
type mtsState struct {
	opts       MTSOptions
	sources    *fileStore
	changesets *fileStore
	tilesets   map[string]*tileset // the live ones, by ID
	tsOrder    []*tileset          // every tileset created, in order
	jobs       map[string]*job
	jobOrder   []*job
	windows    map[mapbox.Endpoint]*rateWindow
	faults     mtsFaults
	uploads    []SourceUploadRecord
	outcomes   map[string]JobOutcome // by tileset
	byContent  map[string]JobOutcome // by source SHA-256
	otherQueue int                   // jobs of other accounts in the global queue
}

func newMTSState(o MTSOptions) *mtsState {
	return &mtsState{
		opts:       o.withDefaults(),
		sources:    newFileStore(kindSource),
		changesets: newFileStore(kindChangeset),
		tilesets:   map[string]*tileset{},
		jobs:       map[string]*job{},
		windows:    map[mapbox.Endpoint]*rateWindow{},
		outcomes:   map[string]JobOutcome{},
		byContent:  map[string]JobOutcome{},
	}
}

// mtsTarget is what an MTS request path names.
type mtsTarget struct {
	ep   mapbox.Endpoint
	user string // the account the path names; "" for queue and validateRecipe
	id   string // the source or changeset ID, or the tileset ID
	job  string
}

// mtsRoute names the endpoint of a request below /tilesets/v1/; ok is
// false for other paths. An MTS path the API does not have has ep "".
func mtsRoute(r *http.Request) (t mtsTarget, ok bool) {
	rest, found := strings.CutPrefix(r.URL.Path, "/tilesets/v1/")
	if !found {
		return t, false
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for _, s := range seg {
		if s == "" {
			return mtsTarget{}, true
		}
	}
	m := r.Method
	switch {
	case seg[0] == "sources" || seg[0] == "changesets":
		return filesRoute(seg, m), true
	case len(seg) == 1 && seg[0] == "queue":
		return mtsTarget{ep: when(m == http.MethodPut, mapbox.EndpointQueue)}, true
	case len(seg) == 1 && seg[0] == "validateRecipe":
		return mtsTarget{ep: when(m == http.MethodPut, mapbox.EndpointRecipeValidate)}, true
	case len(seg) == 1 && !strings.Contains(seg[0], "."):
		return mtsTarget{ep: when(m == http.MethodGet, mapbox.EndpointTilesetList), user: seg[0]}, true
	}
	user, name, _ := strings.Cut(seg[0], ".")
	if name == "" || strings.Contains(name, ".") {
		return mtsTarget{}, true
	}
	t = mtsTarget{user: user, id: seg[0]}
	switch {
	case len(seg) == 1:
		t.ep = map[string]mapbox.Endpoint{http.MethodPost: mapbox.EndpointTilesetCreate,
			http.MethodPatch: mapbox.EndpointTilesetUpdate, http.MethodDelete: mapbox.EndpointTilesetDelete}[m]
	case len(seg) == 2 && seg[1] == "recipe":
		t.ep = map[string]mapbox.Endpoint{http.MethodGet: mapbox.EndpointRecipe, http.MethodPatch: mapbox.EndpointRecipeUpdate}[m]
	case len(seg) == 2 && seg[1] == "publish":
		t.ep = when(m == http.MethodPost, mapbox.EndpointPublish)
	case len(seg) == 2 && seg[1] == "publish-changesets":
		t.ep = when(m == http.MethodPost, mapbox.EndpointPublishChanges)
	case len(seg) == 2 && seg[1] == "jobs":
		t.ep = when(m == http.MethodGet, mapbox.EndpointJobList)
	case len(seg) == 3 && seg[1] == "jobs":
		t.ep, t.job = when(m == http.MethodGet, mapbox.EndpointJob), seg[2]
	}
	if t.ep == "" {
		return mtsTarget{}, true
	}
	return t, true
}

// filesRoute routes /sources/… and /changesets/….
func filesRoute(seg []string, m string) mtsTarget {
	src := seg[0] == "sources"
	pick := func(a, b mapbox.Endpoint) mapbox.Endpoint {
		if src {
			return a
		}
		return b
	}
	switch len(seg) {
	case 2:
		return mtsTarget{ep: when(m == http.MethodGet, pick(mapbox.EndpointSourceList, mapbox.EndpointChangesetList)), user: seg[1]}
	case 3:
		ep := map[string]mapbox.Endpoint{
			http.MethodPost:   pick(mapbox.EndpointSourceAppend, mapbox.EndpointChangesetAppend),
			http.MethodPut:    pick(mapbox.EndpointSourceReplace, mapbox.EndpointChangesetReplace),
			http.MethodGet:    pick(mapbox.EndpointSource, mapbox.EndpointChangeset),
			http.MethodDelete: pick(mapbox.EndpointSourceDelete, mapbox.EndpointChangesetDelete),
		}[m]
		return mtsTarget{ep: ep, user: seg[1], id: seg[2]}
	}
	return mtsTarget{}
}

func when(ok bool, ep mapbox.Endpoint) mapbox.Endpoint {
	if ok {
		return ep
	}
	return ""
}

// handleMTS serves an MTS request that no fault stopped, checking in
// Mapbox's order: the path (404), the token (401), the endpoint's rate
// limit (429), the account in the path (401), the scope (403 naming it).
func (s *Server) handleMTS(w http.ResponseWriter, r *http.Request, t mtsTarget) {
	if t.ep == "" {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	acct, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !s.admitMTS(w, t.ep) {
		writeMessage(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	if t.user != "" && t.user != acct.username {
		writeMessage(w, http.StatusUnauthorized, "Not Authorized - Invalid Token")
		return
	}
	if scope := mapbox.ScopeOf(t.ep); !acct.scopes[scope] {
		writeMessage(w, http.StatusForbidden, "This endpoint requires a token with %s scope", scope)
		return
	}
	switch t.ep {
	case mapbox.EndpointSourceAppend, mapbox.EndpointSourceReplace, mapbox.EndpointChangesetAppend, mapbox.EndpointChangesetReplace:
		s.uploadFile(w, r, t)
	case mapbox.EndpointSource, mapbox.EndpointChangeset:
		s.getFile(w, t)
	case mapbox.EndpointSourceList, mapbox.EndpointChangesetList:
		s.listFiles(w, r, t)
	case mapbox.EndpointSourceDelete, mapbox.EndpointChangesetDelete:
		s.deleteFile(w, t)
	case mapbox.EndpointTilesetCreate:
		s.createTileset(w, r, t.id)
	case mapbox.EndpointTilesetUpdate:
		s.updateTileset(w, r, t.id)
	case mapbox.EndpointTilesetDelete:
		s.deleteTileset(w, t.id)
	case mapbox.EndpointTilesetList:
		s.listTilesets(w, r)
	case mapbox.EndpointRecipe:
		s.getRecipe(w, t.id)
	case mapbox.EndpointRecipeUpdate:
		s.updateRecipe(w, r, t.id)
	case mapbox.EndpointRecipeValidate:
		s.validateRecipeRoute(w, r)
	case mapbox.EndpointPublish:
		s.publish(w, t.id)
	case mapbox.EndpointPublishChanges:
		s.publishChangesets(w, r, t.id)
	case mapbox.EndpointJob:
		s.getJob(w, t.id, t.job)
	case mapbox.EndpointJobList:
		s.listJobs(w, r, t.id)
	case mapbox.EndpointQueue:
		s.queue(w)
	}
}

// SetMTSRateLimit sets the requests a minute of one MTS endpoint (< 0:
// unlimited, 0: Mapbox's documented limit) and starts a new window for it.
func (s *Server) SetMTSRateLimit(ep mapbox.Endpoint, perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mts
	rl := map[mapbox.Endpoint]int{}
	for k, v := range m.opts.RateLimits {
		rl[k] = v
	}
	rl[ep] = perMinute
	if perMinute == 0 {
		delete(rl, ep)
	}
	m.opts.RateLimits, m.opts.Unlimited = rl, false
	delete(m.windows, ep)
}

// limitOf is the requests a minute of ep; 0 for unlimited.
func (m *mtsState) limitOf(ep mapbox.Endpoint) int {
	if m.opts.Unlimited {
		return 0
	}
	if v, ok := m.opts.RateLimits[ep]; ok {
		return max(v, 0)
	}
	return mapbox.MTSRateLimits[ep]
}

// mtsWindow is the length of every MTS rate window.
const mtsWindow = time.Minute

// admitMTS counts the request against its endpoint's per-minute limit
// (fixed windows, or sliding ones under Options.SlidingWindow), sets the
// three rate-limit headers, and reports whether it may proceed. A
// RateLimitMTSFor window refuses it, with that window's end as the reset.
func (s *Server) admitMTS(w http.ResponseWriter, ep mapbox.Endpoint) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, now := s.mts, s.now()
	limit := m.limitOf(ep)
	until := m.faults.limitedUntil[ep]
	if all := m.faults.limitedUntil[""]; all.After(until) {
		until = all
	}
	if now.Before(until) {
		s.mtsRateHeaders(w, now, max(limit, 1), until, false)
		return false
	}
	if limit <= 0 {
		return true
	}
	rw := m.windows[ep]
	if rw == nil {
		rw = &rateWindow{}
		m.windows[ep] = rw
	}
	ok, reset := rw.take(now, limit, mtsWindow, s.opts.SlidingWindow)
	s.mtsRateHeaders(w, now, limit, reset, ok)
	return ok
}

// mtsRateHeaders sets the rate-limit headers of an MTS answer.
func (s *Server) mtsRateHeaders(w http.ResponseWriter, now time.Time, limit int, reset time.Time, ok bool) {
	setRateHeaders(w.Header(), now, mtsWindow, limit, reset, !ok && s.opts.RetryAfter)
}
