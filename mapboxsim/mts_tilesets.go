package mapboxsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// tileset is one tileset made with MTS.
type tileset struct {
	id, name, description string
	private               bool
	attribution           []mapbox.Attribution
	recipe                *recipe
	created, modified     time.Time
	seq                   int
	deleted               bool
	queue                 []*job    // its queued jobs, in arrival order
	running               *job      // its processing job
	busyUntil             time.Time // when its last job ended
	base                  *recipe   // the recipe of its last successful full job
	filesize              int64     // the tiles' size after its last successful job
}

// tilesetInfo is the part of a create or PATCH body that is not the recipe.
type tilesetInfo struct {
	Name        *string               `json:"name"`
	Description *string               `json:"description"`
	Private     *bool                 `json:"private"`
	Attribution *[]mapbox.Attribution `json:"attribution"`
}

// check returns what is wrong with the info ("" if nothing).
func (in tilesetInfo) check() string {
	switch {
	case in.Name != nil && len([]rune(*in.Name)) > 64:
		return "name must be at most 64 characters"
	case in.Description != nil && len([]rune(*in.Description)) > 500:
		return "description must be at most 500 characters"
	}
	if in.Attribution != nil {
		a := *in.Attribution
		text := 0
		for _, x := range a {
			text += len([]rune(x.Text))
			if len(x.Link) > 1000 {
				return "attribution links must be at most 1000 characters"
			}
		}
		if len(a) > 3 {
			return "attribution may hold at most 3 objects"
		}
		if text > 80 {
			return "attribution text must be at most 80 characters in all"
		}
	}
	return ""
}

// apply sets the info's fields on ts.
func (in tilesetInfo) apply(ts *tileset) {
	if in.Name != nil {
		ts.name = *in.Name
	}
	if in.Description != nil {
		ts.description = *in.Description
	}
	if in.Private != nil {
		ts.private = *in.Private
	}
	if in.Attribution != nil {
		ts.attribution = *in.Attribution
	}
}

// createTileset serves POST /tilesets/v1/{id}: 200 with Mapbox's message,
// 400 when the ID exists (an MTS tileset or one the Uploads API made), for
// a bad ID or body, and for an invalid recipe (its errors listed, with
// Options.MTS.RecipeInvalidStatus).
func (s *Server) createTileset(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req struct {
		tilesetInfo
		Recipe json.RawMessage `json:"recipe"`
	}
	switch {
	case !mapbox.TilesetIDPattern.MatchString(id):
		writeMessage(w, http.StatusBadRequest, "Invalid tileset ID %q: username.name, the name 1 to 32 letters, digits, - and _", id)
		return
	case json.Unmarshal(body, &req) != nil:
		writeMessage(w, http.StatusBadRequest, "Invalid JSON in request body")
		return
	case len(req.Recipe) == 0 || string(req.Recipe) == "null":
		writeMessage(w, http.StatusBadRequest, "recipe is required")
		return
	case req.Name == nil || *req.Name == "":
		writeMessage(w, http.StatusBadRequest, "name is required")
		return
	}
	if msg := req.check(); msg != "" {
		writeMessage(w, http.StatusBadRequest, "%s", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mts.tilesets[id] != nil || s.uploadedTileset(id) {
		writeMessage(w, http.StatusBadRequest, "Tileset %s already exists", id)
		return
	}
	rc, errs := s.validateRecipe(req.Recipe, s.mts.opts.CreateChecksSources)
	if errs != nil {
		refuseRecipe(w, s.mts.opts.RecipeInvalidStatus, errs)
		return
	}
	now := s.now()
	ts := &tileset{id: id, private: true, recipe: rc, created: now, modified: now, seq: len(s.mts.tsOrder)}
	req.apply(ts)
	s.mts.tilesets[id] = ts
	s.mts.tsOrder = append(s.mts.tsOrder, ts)
	writeMessage(w, http.StatusOK, "Successfully created empty tileset %s. Publish your tileset to begin processing your data into vector tiles.", id)
}

// updateTileset serves PATCH /tilesets/v1/{id} (name, description,
// private, attribution; anything else is 400): 204.
func (s *Server) updateTileset(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var keys map[string]json.RawMessage
	var in tilesetInfo
	if json.Unmarshal(body, &keys) != nil || json.Unmarshal(body, &in) != nil {
		writeMessage(w, http.StatusBadRequest, "Invalid JSON in request body")
		return
	}
	for k := range keys {
		if !slices.Contains([]string{"name", "description", "private", "attribution"}, k) {
			writeMessage(w, http.StatusBadRequest, "Unknown property %q: only name, description, private and attribution can be updated", k)
			return
		}
	}
	if msg := in.check(); msg != "" {
		writeMessage(w, http.StatusBadRequest, "%s", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, refusal := s.mtsTileset(id)
	if refusal != nil {
		refusal(w)
		return
	}
	in.apply(ts)
	ts.modified = s.now()
	w.WriteHeader(http.StatusNoContent)
}

// deleteTileset serves DELETE /tilesets/v1/{id}: 200. Its active jobs fail.
func (s *Server) deleteTileset(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, refusal := s.mtsTileset(id)
	if refusal != nil {
		refusal(w)
		return
	}
	now := s.now()
	s.mts.advance(now)
	for _, j := range s.mts.jobOrder {
		if j.ts == ts && !j.stage.Done() {
			s.mts.fail(j, now, "Tileset "+id+" was deleted")
		}
	}
	ts.deleted = true
	delete(s.mts.tilesets, id)
	writeMessage(w, http.StatusOK, "Tileset %s deleted", id)
}

// listTilesets answers a page of the account's MTS tilesets, newest first
// by sortby, filtered by type (all are vector) and visibility.
func (s *Server) listTilesets(w http.ResponseWriter, r *http.Request) {
	modified, ok := sortBy(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	typ, vis := q.Get("type"), q.Get("visibility")
	if typ != "" && !slices.Contains([]string{"raster", "rasterarray", "vector"}, typ) ||
		vis != "" && vis != "public" && vis != "private" {
		writeMessage(w, http.StatusUnprocessableEntity, "type must be raster, rasterarray or vector; visibility public or private")
		return
	}
	s.mu.Lock()
	var items []pageItem
	for _, ts := range s.mts.tsOrder {
		visibility := map[bool]string{true: "private", false: "public"}[ts.private]
		if ts.deleted || typ != "" && typ != "vector" || vis != "" && vis != visibility {
			continue
		}
		at := ts.created
		if modified {
			at = ts.modified
		}
		items = append(items, pageItem{key: keyOf(at, ts.seq), v: mapbox.Tileset{Type: "vector", Center: []float64{0, 0, 0},
			Created: ts.created.UTC(), Modified: ts.modified.UTC(), Description: ts.description, Filesize: ts.filesize,
			ID: ts.id, Name: ts.name, Visibility: visibility, Status: "available"}})
	}
	s.mu.Unlock()
	writePage(w, r, "tilesets", items, false)
}

// tilesetUser is the account part of a tileset ID.
func tilesetUser(id string) string {
	u, _, _ := strings.Cut(id, ".")
	return u
}
