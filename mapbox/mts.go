package mapbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// checkTileset refuses, before sending, a tileset ID that is not
// "{username}.{name}" of the client's account.
func (c *Client) checkTileset(ep Endpoint, tileset string) error {
	if !TilesetIDPattern.MatchString(tileset) || !strings.HasPrefix(tileset, c.username+".") {
		return fmt.Errorf("mapbox %s: tileset ID %q is not %s.{name} with a name of 1 to 32 letters, digits, - and _: %w",
			ep, tileset, c.username, notSentError{ErrInvalid})
	}
	return nil
}

// tilesetRoot is the path of one tileset.
func tilesetRoot(tileset string) string { return mtsRoot + "/" + url.PathEscape(tileset) }

// encodeBody marshals v, refusing before sending what is not JSON (a
// recipe given as json.RawMessage is checked so).
func encodeBody(ep Endpoint, what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("mapbox %s: %s is not JSON: %w: %w", ep, what, notSentError{ErrInvalid}, err)
	}
	return b, nil
}

// CreateTileset creates the empty tileset t.Recipe describes (POST
// /tilesets/v1/{tileset}, scope tilesets:write); it has no tiles until a
// publish succeeds. A tileset that exists already is a 400 (ErrInvalid),
// as is a recipe MTS refuses (then RecipeErrors(err) lists why): "create or
// update" is CreateTileset, and on ErrInvalid, UpdateRecipe.
func (c *Client) CreateTileset(ctx context.Context, tileset string, t NewTileset) error {
	if err := c.checkTileset(EndpointTilesetCreate, tileset); err != nil {
		return err
	}
	if len(t.Recipe) == 0 || t.Name == "" {
		return fmt.Errorf("mapbox %s %s: recipe and name are required: %w", EndpointTilesetCreate, tileset, notSentError{ErrInvalid})
	}
	body, err := encodeBody(EndpointTilesetCreate, "the recipe", t)
	if err != nil {
		return err
	}
	k := call{ep: EndpointTilesetCreate, method: http.MethodPost, root: tilesetRoot(tileset), body: body,
		want: []int{http.StatusOK, http.StatusCreated}}
	a, err := c.do(ctx, k)
	return c.recipeError(a, err)
}

// Recipe returns the recipe of tileset (GET /tilesets/v1/{tileset}/recipe,
// scope tilesets:list), as MTS holds it.
func (c *Client) Recipe(ctx context.Context, tileset string) (json.RawMessage, error) {
	if err := c.checkTileset(EndpointRecipe, tileset); err != nil {
		return nil, err
	}
	var ans struct {
		Recipe json.RawMessage `json:"recipe"`
		ID     string          `json:"id"`
	}
	k := call{ep: EndpointRecipe, method: http.MethodGet, root: tilesetRoot(tileset), path: "/recipe",
		want: []int{http.StatusOK}, out: &ans, check: func() string {
			if len(ans.Recipe) == 0 || string(ans.Recipe) == "null" {
				return "recipe answer has no recipe"
			}
			return ""
		}}
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	return ans.Recipe, nil
}

// UpdateRecipe replaces the recipe of tileset (PATCH
// /tilesets/v1/{tileset}/recipe, scope tilesets:write); the tiles change at
// the next publish. A recipe MTS refuses is ErrInvalid, and
// RecipeErrors(err) lists why. Renaming a layer breaks the styles that use it.
func (c *Client) UpdateRecipe(ctx context.Context, tileset string, recipe json.RawMessage) error {
	if err := c.checkTileset(EndpointRecipeUpdate, tileset); err != nil {
		return err
	}
	body, err := encodeBody(EndpointRecipeUpdate, "the recipe", recipe)
	if err != nil {
		return err
	}
	k := call{ep: EndpointRecipeUpdate, method: http.MethodPatch, root: tilesetRoot(tileset), path: "/recipe", body: body,
		want: []int{http.StatusNoContent, http.StatusCreated, http.StatusOK}}
	a, err := c.do(ctx, k)
	return c.recipeError(a, err)
}

// recipeError turns a 400 or 422 whose body lists "errors" into a
// *RecipeError, the errors (redacted) added to the APIError's message.
func (c *Client) recipeError(a answer, err error) error {
	var ae *APIError
	if err == nil || !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusUnprocessableEntity) {
		return err
	}
	var body struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(a.body, &body) != nil || len(body.Errors) == 0 {
		return err
	}
	cp := *ae // Observe holds ae already: it is not changed under it
	re := &RecipeError{err: &cp}
	for _, e := range body.Errors {
		re.Errors = append(re.Errors, c.excerpt(e, maxMessage))
	}
	cp.Message = c.excerpt(cp.Message+": "+strings.Join(re.Errors, "; "), maxMessage)
	return re
}

// ValidateRecipe asks MTS whether recipe is valid (PUT
// /tilesets/v1/validateRecipe, scope tilesets:write); acceptInvalidSources
// skips the checks of the layers' sources. An invalid recipe is not an
// error: the answer says Valid false and lists why, whatever the status
// MTS gave it (200, 400 or 422: undocumented).
func (c *Client) ValidateRecipe(ctx context.Context, recipe json.RawMessage, acceptInvalidSources bool) (RecipeValidation, error) {
	body, err := encodeBody(EndpointRecipeValidate, "the recipe", recipe)
	if err != nil {
		return RecipeValidation{}, err
	}
	q := url.Values{}
	if acceptInvalidSources {
		q.Set("accept_invalid_sources", "true")
	}
	var v struct {
		Valid  *bool    `json:"valid"`
		Errors []string `json:"errors"`
	}
	k := call{ep: EndpointRecipeValidate, method: http.MethodPut, root: mtsRoot, path: "/validateRecipe", query: q, body: body,
		want: []int{http.StatusOK}, out: &v, check: func() string {
			if v.Valid == nil {
				return "validation answer has no valid property"
			}
			return ""
		}}
	a, err := c.do(ctx, k)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity) &&
		json.Unmarshal(a.body, &v) == nil && v.Valid != nil && !*v.Valid {
		err = nil
	}
	if err != nil {
		return RecipeValidation{}, err
	}
	out := RecipeValidation{Valid: *v.Valid}
	for _, e := range v.Errors {
		out.Errors = append(out.Errors, c.excerpt(e, maxMessage))
	}
	return out, nil
}

// UpdateTileset changes the name, description, privacy or attribution of
// tileset (PATCH /tilesets/v1/{tileset}, scope tilesets:write); not its
// recipe, sources or tiles.
func (c *Client) UpdateTileset(ctx context.Context, tileset string, u TilesetUpdate) error {
	if err := c.checkTileset(EndpointTilesetUpdate, tileset); err != nil {
		return err
	}
	body, err := encodeBody(EndpointTilesetUpdate, "the update", u)
	if err != nil {
		return err
	}
	k := call{ep: EndpointTilesetUpdate, method: http.MethodPatch, root: tilesetRoot(tileset), body: body,
		want: []int{http.StatusNoContent, http.StatusOK}}
	_, err = c.do(ctx, k)
	return err
}

// DeleteTileset deletes tileset for good (DELETE /tilesets/v1/{tileset},
// scope tilesets:write).
func (c *Client) DeleteTileset(ctx context.Context, tileset string) error {
	if err := c.checkTileset(EndpointTilesetDelete, tileset); err != nil {
		return err
	}
	k := call{ep: EndpointTilesetDelete, method: http.MethodDelete, root: tilesetRoot(tileset),
		want: []int{http.StatusOK, http.StatusNoContent}}
	_, err := c.do(ctx, k)
	return err
}

// ListTilesets returns one page of the account's tilesets and the next
// page's cursor ("" on the last) (GET /tilesets/v1/{username}, scope
// tilesets:list).
func (c *Client) ListTilesets(ctx context.Context, opts MTSListOptions) ([]Tileset, string, error) {
	q, err := listQuery(EndpointTilesetList, opts.Limit, opts.Start)
	if err != nil {
		return nil, "", err
	}
	for k, v := range map[string]string{"sortby": opts.SortBy, "type": opts.Type, "visibility": opts.Visibility} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out []Tileset
	next, err := c.listPage(ctx, call{ep: EndpointTilesetList, method: http.MethodGet,
		root: mtsRoot + "/" + url.PathEscape(c.username), query: q, out: &out})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// Publish starts a job that builds tileset from its recipe's sources (POST
// /tilesets/v1/{tileset}/publish, scope tilesets:write); poll it with Job.
// Every successful job is billed, and Mapbox allows 2 publishes a minute.
// A recipe layer whose source does not exist is a 400 (ErrInvalid).
func (c *Client) Publish(ctx context.Context, tileset string) (PublishResult, error) {
	if err := c.checkTileset(EndpointPublish, tileset); err != nil {
		return PublishResult{}, err
	}
	return c.publish(ctx, call{ep: EndpointPublish, method: http.MethodPost, root: tilesetRoot(tileset), path: "/publish"})
}

// PublishChangesets starts an incremental job that applies changesets to
// tileset (POST /tilesets/v1/{tileset}/publish-changesets): layers maps a
// layer of the recipe to the ID of a changeset of the account. The recipe
// must be incremental, published, and unchanged since its initial or
// reset publish; MTS answers 400 (ErrInvalid) for a payload it refuses, 404
// (ErrNotFound) for a tileset never published or not incremental, 422
// (ErrInvalid) when every changeset is empty, 401 (ErrUnauthorized) when the
// account may not use incremental updates.
func (c *Client) PublishChangesets(ctx context.Context, tileset string, layers map[string]string) (PublishResult, error) {
	ep := EndpointPublishChanges
	if err := c.checkTileset(ep, tileset); err != nil {
		return PublishResult{}, err
	}
	if len(layers) == 0 {
		return PublishResult{}, fmt.Errorf("mapbox %s %s: no layers: %w", ep, tileset, notSentError{ErrInvalid})
	}
	type change struct {
		Changeset string `json:"changeset"`
	}
	payload := struct {
		Layers map[string]change `json:"layers"`
	}{Layers: map[string]change{}}
	for layer, id := range layers {
		if err := checkSourceID(ep, id); err != nil {
			return PublishResult{}, err
		}
		payload.Layers[layer] = change{Changeset: ChangesetURI(c.username, id)}
	}
	body, err := encodeBody(ep, "the payload", payload)
	if err != nil {
		return PublishResult{}, err
	}
	return c.publish(ctx, call{ep: ep, method: http.MethodPost, root: tilesetRoot(tileset), path: "/publish-changesets", body: body})
}

func (c *Client) publish(ctx context.Context, k call) (PublishResult, error) {
	var p PublishResult
	k.want, k.out = []int{http.StatusOK, http.StatusCreated}, &p
	k.check = func() string {
		if p.JobID == "" {
			return "publish answer has no jobId"
		}
		return ""
	}
	if _, err := c.do(ctx, k); err != nil {
		return PublishResult{}, err
	}
	return p, nil
}

// Job returns one job of tileset (GET /tilesets/v1/{tileset}/jobs/{jobID},
// scope tilesets:read). A failed job is returned without error: check
// j.Err() and j.Stage.
func (c *Client) Job(ctx context.Context, tileset, jobID string) (Job, error) {
	if err := c.checkTileset(EndpointJob, tileset); err != nil {
		return Job{}, err
	}
	if jobID == "" {
		return Job{}, fmt.Errorf("mapbox %s %s: empty job id: %w", EndpointJob, tileset, notSentError{ErrInvalid})
	}
	var j Job
	k := call{ep: EndpointJob, method: http.MethodGet, root: tilesetRoot(tileset), path: "/jobs/" + url.PathEscape(jobID),
		want: []int{http.StatusOK}, out: &j, check: func() string {
			if j.ID == "" || j.Stage == "" {
				return "job answer has no id or stage"
			}
			return ""
		}}
	if _, err := c.do(ctx, k); err != nil {
		return Job{}, err
	}
	return j, nil
}

// ListJobs returns one page of the jobs of tileset and the next page's
// cursor ("" on the last) (GET /tilesets/v1/{tileset}/jobs, scope
// tilesets:list). Their order is undocumented (Mapbox says limit=1 gives
// the most recent, yet its example is oldest first): sort by Created. A
// tileset without jobs may answer 404 (ErrNotFound).
func (c *Client) ListJobs(ctx context.Context, tileset string, opts JobListOptions) ([]Job, string, error) {
	if err := c.checkTileset(EndpointJobList, tileset); err != nil {
		return nil, "", err
	}
	q, err := listQuery(EndpointJobList, opts.Limit, opts.Start)
	if err != nil {
		return nil, "", err
	}
	if opts.Stage != "" {
		q.Set("stage", string(opts.Stage))
	}
	var out []Job
	next, err := c.listPage(ctx, call{ep: EndpointJobList, method: http.MethodGet, root: tilesetRoot(tileset), path: "/jobs", query: q, out: &out})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// Queue returns the number of jobs waiting in MTS's global queue, all
// accounts together (PUT /tilesets/v1/queue, scope tilesets:read).
func (c *Client) Queue(ctx context.Context) (int, error) {
	var ans struct {
		Total *int `json:"total"`
	}
	k := call{ep: EndpointQueue, method: http.MethodPut, root: mtsRoot, path: "/queue", want: []int{http.StatusOK}, out: &ans,
		check: func() string {
			if ans.Total == nil {
				return "queue answer has no total"
			}
			return ""
		}}
	if _, err := c.do(ctx, k); err != nil {
		return 0, err
	}
	return *ans.Total, nil
}
