package mapboxsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// changesetURI parses a changeset's URI.
var changesetURI = regexp.MustCompile(`^mapbox://tileset-changeset/([^/]+)/([A-Za-z0-9_-]{1,32})$`)

// publishChangesets serves POST /tilesets/v1/{id}/publish-changesets with
// the checks of the contract, in this order: 401 for an account without
// incremental updates; 400 for a missing tileset; 404 for one not
// incremental or never published (no full publish succeeded); 400 for
// layers absent or not an object, a layer not in the recipe, a layer
// without changeset, a changeset that does not exist, a recipe changed
// since the last successful initial or reset publish; 422 when every
// changeset is empty; the queue limit. Changeset jobs queue with the
// tileset's full publishes and are never superseded.
func (s *Server) publishChangesets(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, now := s.mts, s.now()
	if m.opts.IncrementalDisabled {
		writeMessage(w, http.StatusUnauthorized, NoAccessMessage)
		return
	}
	ts, refusal := s.mtsTileset(id)
	if refusal != nil {
		if s.uploadedTileset(id) {
			refusal(w)
			return
		}
		writeMessage(w, http.StatusBadRequest, "Cannot find tileset %s", id)
		return
	}
	m.advance(now)
	switch {
	case !ts.recipe.incremental:
		writeMessage(w, http.StatusNotFound, "Tileset %s is not incremental: its recipe lacks \"incremental\": true", id)
		return
	case ts.base == nil:
		writeMessage(w, http.StatusNotFound, "Tileset %s has not been published", id)
		return
	}
	changes, status, msg := s.readChanges(body, ts, now)
	if msg != "" {
		writeMessage(w, status, "%s", msg)
		return
	}
	j, ok := s.enqueue(w, ts, changes, now)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Processing " + id, "jobId": j.id})
}

// readChanges checks the payload {"layers": {name: {"changeset": uri}}}
// against ts, returning the changeset ID per layer, or the status and
// message of a refusal. Called with s.mu held.
func (s *Server) readChanges(body []byte, ts *tileset, now time.Time) (map[string]string, int, string) {
	var payload map[string]json.RawMessage
	var layers map[string]json.RawMessage
	if json.Unmarshal(body, &payload) != nil || payload["layers"] == nil ||
		json.Unmarshal(payload["layers"], &layers) != nil || layers == nil {
		return nil, http.StatusBadRequest, "layers is required and must be an object"
	}
	if len(layers) == 0 {
		return nil, http.StatusBadRequest, "layers must name at least one layer"
	}
	names := make([]string, 0, len(layers))
	for n := range layers {
		names = append(names, n)
	}
	slices.Sort(names)
	changes := map[string]string{}
	empty := true
	for _, name := range names {
		if _, ok := ts.recipe.layers[name]; !ok {
			return nil, http.StatusBadRequest, "Layer " + name + " is not a layer of the recipe of " + ts.id
		}
		var c struct {
			Changeset *string `json:"changeset"`
		}
		if json.Unmarshal(layers[name], &c) != nil || c.Changeset == nil {
			return nil, http.StatusBadRequest, "layers." + name + ".changeset is required"
		}
		mm := changesetURI.FindStringSubmatch(*c.Changeset)
		if mm == nil || mm[1] != s.opts.Username {
			return nil, http.StatusBadRequest, "layers." + name + ".changeset must be a mapbox://tileset-changeset/" + s.opts.Username + "/{id} URI"
		}
		f := s.mts.changesets.get(mm[2], now)
		if f == nil {
			return nil, http.StatusBadRequest, "Changeset " + *c.Changeset + " does not exist"
		}
		if f.features > 0 {
			empty = false
		}
		changes[name] = mm[2]
	}
	if !bytes.Equal(ts.recipe.raw, ts.base.raw) {
		return nil, http.StatusBadRequest, "The recipe of " + ts.id + " has changed since its last initial or reset publish: publish it in full"
	}
	if empty {
		return nil, http.StatusUnprocessableEntity, "Every changeset is empty"
	}
	return changes, 0, ""
}
