package mapboxsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// RecipeInvalidMessage is the message of a refused recipe, its errors
// listed beside it.
const RecipeInvalidMessage = "Recipe is invalid."

// MaxRecipeLayers is the most layers a recipe may have.
const MaxRecipeLayers = 20

// recipe is a recipe the validator accepted.
type recipe struct {
	raw         json.RawMessage // as sent, compacted
	incremental bool
	layers      map[string]recipeLayer
}

// recipeLayer is what the simulator reads of one layer.
type recipeLayer struct {
	source           string // its URI
	sourceID         string
	minzoom, maxzoom int
}

// layerNames are the recipe's layers, sorted.
func (rc *recipe) layerNames() []string {
	names := make([]string, 0, len(rc.layers))
	for n := range rc.layers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// sourceURI parses a layer's source.
var sourceURI = regexp.MustCompile(`^mapbox://tileset-source/([^/]+)/([^/]+)$`)

// validateRecipe is section 7's validator, shared by create, recipe PATCH
// and validateRecipe: version 1; layers a non-empty object of at most 20
// layers; each layer an object with a source URI of this account (that
// exists, when checkSources), integer minzoom and maxzoom in 0..MaxZoom,
// minzoom ≤ maxzoom, features and tiles objects if present; incremental a
// boolean. It returns every error found, each naming its field; nil
// errors and the recipe when it is valid. Called with s.mu held when
// checkSources.
func (s *Server) validateRecipe(raw []byte, checkSources bool) (*recipe, []string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		return nil, []string{"recipe must be a JSON object"}
	}
	var errs []string
	rc := &recipe{layers: map[string]recipeLayer{}}
	if v, ok := top["version"]; !ok {
		errs = append(errs, "version is required")
	} else if n, ok := intOf(v); !ok || n != 1 {
		errs = append(errs, "version must be 1")
	}
	if v, ok := top["incremental"]; ok && json.Unmarshal(v, &rc.incremental) != nil {
		errs = append(errs, "incremental must be a boolean")
	}
	var layers map[string]json.RawMessage
	switch v, ok := top["layers"]; {
	case !ok:
		errs = append(errs, "layers is required")
	case json.Unmarshal(v, &layers) != nil || layers == nil:
		errs = append(errs, "layers must be an object")
	case len(layers) == 0:
		errs = append(errs, "layers must contain at least one layer")
	case len(layers) > MaxRecipeLayers:
		errs = append(errs, fmt.Sprintf("layers may contain at most %d layers, found %d", MaxRecipeLayers, len(layers)))
	}
	names := make([]string, 0, len(layers))
	for n := range layers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		l, lerrs := s.validateLayer(name, layers[name], checkSources)
		errs = append(errs, lerrs...)
		rc.layers[name] = l
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var buf bytes.Buffer
	json.Compact(&buf, raw)
	rc.raw = buf.Bytes()
	return rc, nil
}

// validateLayer checks one layer of a recipe.
func (s *Server) validateLayer(name string, raw json.RawMessage, checkSources bool) (recipeLayer, []string) {
	p := "layers." + name
	var l map[string]json.RawMessage
	if json.Unmarshal(raw, &l) != nil || l == nil {
		return recipeLayer{}, []string{p + " must be an object"}
	}
	var errs []string
	if name == "" {
		errs = append(errs, "layer names must not be empty")
	}
	var out recipeLayer
	switch v, ok := l["source"]; {
	case !ok:
		errs = append(errs, p+".source is required")
	case json.Unmarshal(v, &out.source) != nil:
		errs = append(errs, p+".source must be a string")
	default:
		m := sourceURI.FindStringSubmatch(out.source)
		switch {
		case m == nil || !mapbox.SourceIDPattern.MatchString(m[2]):
			errs = append(errs, p+".source must be a mapbox://tileset-source/{username}/{id} URI")
		case m[1] != s.opts.Username:
			errs = append(errs, fmt.Sprintf("%s.source does not belong to account '%s'.", p, s.opts.Username))
		case checkSources && s.mts.sources.get(m[2], s.now()) == nil:
			errs = append(errs, fmt.Sprintf("%s.source %s does not exist", p, out.source))
		default:
			out.sourceID = m[2]
		}
	}
	zoomOK := true
	for _, f := range []struct {
		name string
		to   *int
	}{{"minzoom", &out.minzoom}, {"maxzoom", &out.maxzoom}} {
		v, ok := l[f.name]
		n, isInt := intOf(v)
		switch {
		case !ok:
			errs, zoomOK = append(errs, p+"."+f.name+" is required"), false
		case !isInt:
			errs, zoomOK = append(errs, p+"."+f.name+" must be an integer"), false
		case n < 0 || n > int64(s.mts.opts.MaxZoom):
			errs, zoomOK = append(errs, fmt.Sprintf("%s.%s must be between 0 and %d", p, f.name, s.mts.opts.MaxZoom)), false
		default:
			*f.to = int(n)
		}
	}
	if zoomOK && out.minzoom > out.maxzoom {
		errs = append(errs, fmt.Sprintf("%s: minzoom %d cannot be larger than maxzoom %d", p, out.minzoom, out.maxzoom))
	}
	for _, f := range []string{"features", "tiles"} {
		var obj map[string]json.RawMessage
		if v, ok := l[f]; ok && (json.Unmarshal(v, &obj) != nil || obj == nil) {
			errs = append(errs, p+"."+f+" must be an object")
		}
	}
	return out, errs
}

// intOf reads a JSON integer (1 and 1.0 alike, not 1.5 nor "1").
func intOf(v json.RawMessage) (int64, bool) {
	var n json.Number
	if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}

// readBody reads a JSON request body (at most 1 MiB), answering 400 when
// it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Could not read the request body")
		return nil, false
	}
	return b, true
}

// refuseRecipe answers a refused recipe.
func refuseRecipe(w http.ResponseWriter, status int, errs []string) {
	writeJSON(w, status, map[string]any{"message": RecipeInvalidMessage, "errors": errs})
}

// getRecipe answers {"recipe": …, "id": …}.
func (s *Server) getRecipe(w http.ResponseWriter, id string) {
	s.mu.Lock()
	ts, refusal := s.mtsTileset(id)
	var raw json.RawMessage
	if ts != nil {
		raw = ts.recipe.raw
	}
	s.mu.Unlock()
	if refusal != nil {
		refusal(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recipe": raw, "id": id})
}

// updateRecipe replaces a tileset's recipe: 204, or the refused recipe's
// errors with Options.MTS.RecipeInvalidStatus.
func (s *Server) updateRecipe(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, refusal := s.mtsTileset(id)
	if refusal != nil {
		refusal(w)
		return
	}
	rc, errs := s.validateRecipe(body, s.mts.opts.CreateChecksSources)
	if errs != nil {
		refuseRecipe(w, s.mts.opts.RecipeInvalidStatus, errs)
		return
	}
	ts.recipe, ts.modified = rc, s.now()
	w.WriteHeader(http.StatusNoContent)
}

// validateRecipeRoute answers {"valid": true} or {"valid": false, "errors"}
// (with Options.MTS.ValidateInvalidStatus); accept_invalid_sources=true
// skips the checks that sources exist.
func (s *Server) validateRecipeRoute(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	check := r.URL.Query().Get("accept_invalid_sources") != "true"
	s.mu.Lock()
	_, errs := s.validateRecipe(body, check)
	status := s.mts.opts.ValidateInvalidStatus
	s.mu.Unlock()
	if errs != nil {
		writeJSON(w, status, map[string]any{"valid": false, "errors": errs})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true})
}

// mtsTileset is the live MTS tileset id, or a refusal: 400 "Unable to
// perform action" for a tileset the Uploads API made, 404 "Cannot find
// tileset" for none. Called with s.mu held.
func (s *Server) mtsTileset(id string) (*tileset, func(http.ResponseWriter)) {
	if ts := s.mts.tilesets[id]; ts != nil {
		return ts, nil
	}
	if s.uploadedTileset(id) {
		return nil, func(w http.ResponseWriter) {
			writeMessage(w, http.StatusBadRequest, "Unable to perform action. %s was not created with the /tilesets/v1 endpoint.", id)
		}
	}
	return nil, func(w http.ResponseWriter) { writeMessage(w, http.StatusNotFound, "Cannot find tileset %s", id) }
}

// uploadedTileset reports whether an upload of the Uploads API made
// tileset id. Called with s.mu held.
func (s *Server) uploadedTileset(id string) bool {
	now := s.now()
	for _, u := range s.order {
		if u.tileset == id && u.done(now) && u.failure == "" {
			return true
		}
	}
	return false
}

// millis is t in MTS's milliseconds; 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
