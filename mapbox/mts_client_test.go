package mapbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// geojsonLines is n line-delimited GeoJSON features.
func geojsonLines(first, n int) string {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, `{"type":"Feature","id":%d,"geometry":{"type":"Point","coordinates":[%d,2]},"properties":{"n":%d}}`+"\n", i, i%180, i)
	}
	return b.String()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// mtsRecipe is a one-layer recipe of alice's source src.
func mtsRecipe(src string, minzoom, maxzoom int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"version":1,"layers":{"parcels":{"source":"mapbox://tileset-source/alice/%s","minzoom":%d,"maxzoom":%d}}}`,
		src, minzoom, maxzoom))
}

// unlimited turns the MTS rate limits off for tests that are not about them.
var unlimited = mapboxsim.MTSOptions{Unlimited: true, QueueTime: time.Second, ProcessingTime: 10 * time.Second}

// TestMTSClientRoutes calls every MTS method once, in pipeline order, and
// checks each answer, and that Gate and Observe saw each endpoint. It is
// one long story on purpose: each call needs the state the calls before
// it made.
func TestMTSClientRoutes(t *testing.T) {
	var mu sync.Mutex
	var gated, observed []mapbox.Endpoint
	e := newEnv(t, mapboxsim.Options{MTS: unlimited}, mapbox.Options{
		Gate: func(_ context.Context, ep mapbox.Endpoint) error {
			mu.Lock()
			defer mu.Unlock()
			gated = append(gated, ep)
			return nil
		},
		Observe: func(x mapbox.Exchange) {
			mu.Lock()
			defer mu.Unlock()
			observed = append(observed, x.Endpoint)
		}})
	c, ctx := e.client, context.Background()
	a, b := geojsonLines(1, 3), geojsonLines(10, 2)
	info, err := c.ReplaceSource(ctx, "src", strings.NewReader(a))
	if err != nil || info != (mapbox.SourceInfo{ID: "mapbox://tileset-source/alice/src", Files: 1, FileSize: int64(len(a)), SourceSize: int64(len(a))}) {
		t.Fatalf("ReplaceSource: %+v, %v", info, err)
	}
	info, err = c.AppendSource(ctx, "src", strings.NewReader(b))
	if err != nil || info.Files != 2 || info.FileSize != int64(len(b)) || info.SourceSize != int64(len(a)+len(b)) {
		t.Fatalf("AppendSource: %+v, %v", info, err)
	}
	src, err := c.Source(ctx, "src")
	if err != nil || src.Files != 2 || src.Size != int64(len(a)+len(b)) || src.SizeNice == "" {
		t.Fatalf("Source: %+v, %v", src, err)
	}
	list, next, err := c.ListSources(ctx, mapbox.MTSListOptions{})
	if err != nil || len(list) != 1 || next != "" || list[0].ID != src.ID {
		t.Fatalf("ListSources: %+v %q %v", list, next, err)
	}
	recipe := mtsRecipe("src", 0, 10)
	if v, err := c.ValidateRecipe(ctx, recipe, false); err != nil || !v.Valid {
		t.Fatalf("ValidateRecipe: %+v, %v", v, err)
	}
	if err := c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: recipe, Name: "Parks", Description: "d"}); err != nil {
		t.Fatalf("CreateTileset: %v", err)
	}
	if got, err := c.Recipe(ctx, "alice.parks"); err != nil || string(got) != string(recipe) {
		t.Fatalf("Recipe: %s, %v", got, err)
	}
	recipe = mtsRecipe("src", 2, 11)
	if err := c.UpdateRecipe(ctx, "alice.parks", recipe); err != nil {
		t.Fatalf("UpdateRecipe: %v", err)
	}
	desc := "parks of the city"
	if err := c.UpdateTileset(ctx, "alice.parks", mapbox.TilesetUpdate{Description: &desc}); err != nil {
		t.Fatalf("UpdateTileset: %v", err)
	}
	if ts, _, err := c.ListTilesets(ctx, mapbox.MTSListOptions{}); err != nil || len(ts) != 1 || ts[0].Description != desc {
		t.Fatalf("ListTilesets: %+v, %v", ts, err)
	}
	p, err := c.Publish(ctx, "alice.parks")
	if err != nil || p.JobID == "" || p.Message != "Processing alice.parks" || p.Incremental != "" {
		t.Fatalf("Publish: %+v, %v", p, err)
	}
	e.srv.SetGlobalQueue(41)
	if n, err := c.Queue(ctx); err != nil || n != 42 {
		t.Fatalf("Queue: %d, %v; want 42", n, err)
	}
	e.clock.Advance(11 * time.Second)
	j, err := c.Job(ctx, "alice.parks", p.JobID)
	if err != nil || j.Stage != mapbox.JobSuccess || !j.Stage.Done() || j.TilesetID != "alice.parks" || string(j.Recipe) != string(recipe) {
		t.Fatalf("Job: %+v, %v", j, err)
	}
	if held, _ := e.srv.HoldsMTS("alice.parks"); held.SHA256 != sha(a+b) {
		t.Errorf("the job built from %s, want the SHA-256 of both files %s", held.SHA256, sha(a+b))
	}
	jobs, _, err := c.ListJobs(ctx, "alice.parks", mapbox.JobListOptions{Stage: mapbox.JobSuccess})
	if err != nil || len(jobs) != 1 || jobs[0].ID != p.JobID {
		t.Fatalf("ListJobs: %+v, %v", jobs, err)
	}
	if err := c.DeleteSource(ctx, "src"); err != nil {
		t.Fatalf("DeleteSource: %v", err)
	}
	if err := c.DeleteTileset(ctx, "alice.parks"); err != nil {
		t.Fatalf("DeleteTileset: %v", err)
	}
	_, err = c.Source(ctx, "src")
	ae := wantClass(t, "deleted source", err, mapbox.ErrNotFound)
	if ae.Path != "/tilesets/v1/sources/alice/src" || !strings.Contains(err.Error(), "sources/alice/src") {
		t.Errorf("error %q does not name the source", err)
	}
	want := []mapbox.Endpoint{mapbox.EndpointSourceReplace, mapbox.EndpointSourceAppend, mapbox.EndpointSource, mapbox.EndpointSourceList,
		mapbox.EndpointRecipeValidate, mapbox.EndpointTilesetCreate, mapbox.EndpointRecipe, mapbox.EndpointRecipeUpdate,
		mapbox.EndpointTilesetUpdate, mapbox.EndpointTilesetList, mapbox.EndpointPublish, mapbox.EndpointQueue, mapbox.EndpointJob,
		mapbox.EndpointJobList, mapbox.EndpointSourceDelete, mapbox.EndpointTilesetDelete, mapbox.EndpointSource}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(gated, want) || !slices.Equal(observed, want) {
		t.Errorf("gated %v\nobserved %v\nwant %v", gated, observed, want)
	}
}

// TestMTSRefusedBeforeSending: what MTS would refuse never leaves.
func TestMTSRefusedBeforeSending(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	c, ctx := e.client, context.Background()
	data := strings.NewReader(geojsonLines(1, 1))
	errs := map[string]error{}
	_, errs["source id with a slash"] = c.ReplaceSource(ctx, "a/b", data)
	_, errs["source id of 33"] = c.AppendSource(ctx, strings.Repeat("s", 33), data)
	_, errs["no data"] = c.ReplaceChangeset(ctx, "ch", nil)
	errs["another account's tileset"] = c.CreateTileset(ctx, "bob.parks", mapbox.NewTileset{Recipe: mtsRecipe("s", 0, 1), Name: "p"})
	errs["recipe not JSON"] = c.UpdateRecipe(ctx, "alice.parks", json.RawMessage(`{"version":`))
	errs["no name"] = c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: mtsRecipe("s", 0, 1)})
	_, errs["two dots"] = c.Publish(ctx, "alice.a.b")
	_, errs["no job id"] = c.Job(ctx, "alice.parks", "")
	_, _, errs["limit 501"] = c.ListJobs(ctx, "alice.parks", mapbox.JobListOptions{Limit: 501})
	_, errs["no layers"] = c.PublishChangesets(ctx, "alice.parks", nil)
	_, errs["bad changeset id"] = c.PublishChangesets(ctx, "alice.parks", map[string]string{"l": "a b"})
	_, errs["validate not JSON"] = c.ValidateRecipe(ctx, json.RawMessage("nope"), false)
	for name, err := range errs {
		if !errors.Is(err, mapbox.ErrInvalid) || !mapbox.NotSent(err) {
			t.Errorf("%s: %v, want ErrInvalid, not sent", name, err)
		}
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// TestMTSRecipeErrors: a refused recipe is ErrInvalid whose errors
// RecipeErrors lists, whatever the status; validateRecipe's invalid answer
// is not an error, whatever its status.
func TestMTSRecipeErrors(t *testing.T) {
	for _, status := range []int{400, 422} {
		e := newEnv(t, mapboxsim.Options{MTS: mapboxsim.MTSOptions{MaxZoom: 22, RecipeInvalidStatus: status,
			ValidateInvalidStatus: status}}, mapbox.Options{})
		c, ctx := e.client, context.Background()
		bad := mtsRecipe("src", 22, 11)
		err := c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: bad, Name: "p"})
		ae := wantClass(t, "create with a bad recipe", err, mapbox.ErrInvalid)
		want := "layers.parcels: minzoom 22 cannot be larger than maxzoom 11"
		if got := mapbox.RecipeErrors(err); ae.Status != status || len(got) != 1 || got[0] != want || !strings.Contains(err.Error(), want) {
			t.Errorf("status %d: create: %v, RecipeErrors %v", status, err, got)
		}
		if err := c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: mtsRecipe("src", 0, 11), Name: "p"}); err != nil {
			t.Fatal(err)
		}
		err = c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: mtsRecipe("src", 0, 11), Name: "p"})
		if ae := wantClass(t, "create again", err, mapbox.ErrInvalid); ae.Status != 400 || mapbox.RecipeErrors(err) != nil {
			t.Errorf("create again: %v (RecipeErrors %v), want a 400 without recipe errors", err, mapbox.RecipeErrors(err))
		}
		err = c.UpdateRecipe(ctx, "alice.parks", json.RawMessage(`{"version":2,"layers":{}}`))
		if got := mapbox.RecipeErrors(err); !errors.Is(err, mapbox.ErrInvalid) || len(got) != 2 {
			t.Errorf("status %d: update: %v, RecipeErrors %v", status, err, got)
		}
		v, err := c.ValidateRecipe(ctx, bad, true)
		if err != nil || v.Valid || len(v.Errors) != 1 || v.Errors[0] != want {
			t.Errorf("status %d: validate: %+v, %v", status, v, err)
		}
		v, err = c.ValidateRecipe(ctx, mtsRecipe("missing", 0, 1), false)
		if err != nil || v.Valid {
			t.Errorf("status %d: validate a missing source: %+v, %v", status, v, err)
		}
		if v, err = c.ValidateRecipe(ctx, mtsRecipe("missing", 0, 1), true); err != nil || !v.Valid {
			t.Errorf("status %d: validate, accepting invalid sources: %+v, %v", status, v, err)
		}
	}
}

// TestMTSScopes: MTS names the missing scope in a 403.
func TestMTSScopes(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	e.srv.AddToken("pk.list", mapboxsim.ScopeTilesetsList)
	e.srv.AddAccountToken("bob", "pk.bob", mapboxsim.ScopeTilesetsWrite, mapboxsim.ScopeTilesetsRead, mapboxsim.ScopeTilesetsList)
	ctx := context.Background()
	list := newClient(t, mapbox.Options{BaseURL: e.srv.URL(), Username: "alice", Token: "pk.list"})
	_, err := list.ReplaceSource(ctx, "src", strings.NewReader(geojsonLines(1, 1)))
	if ae := wantClass(t, "upload with a list token", err, mapbox.ErrMissingScope); ae.Status != 403 ||
		!strings.Contains(err.Error(), "token lacks the tilesets:write scope") {
		t.Errorf("missing scope: %v", err)
	}
	_, err = list.Job(ctx, "alice.parks", "j")
	if !strings.Contains(err.Error(), "tilesets:read") {
		t.Errorf("job with a list token: %v", err)
	}
	wantClass(t, "job with a list token", err, mapbox.ErrMissingScope)
	if _, _, err := list.ListSources(ctx, mapbox.MTSListOptions{}); err != nil {
		t.Errorf("list with a list token: %v", err)
	}
	bob := newClient(t, mapbox.Options{BaseURL: e.srv.URL(), Username: "alice", Token: "pk.bob"})
	_, _, err = bob.ListSources(ctx, mapbox.MTSListOptions{})
	wantClass(t, "another account's token", err, mapbox.ErrUnauthorized)
}

// TestMTSPublishRateLimit: with Mapbox's limits, the third publish in a
// minute is a 429 whose RetryAt is the window's end; other endpoints are
// not affected.
func TestMTSPublishRateLimit(t *testing.T) {
	var mu sync.Mutex
	var last mapbox.Exchange
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{Observe: func(x mapbox.Exchange) {
		mu.Lock()
		defer mu.Unlock()
		last = x
	}})
	c, ctx := e.client, context.Background()
	if _, err := c.ReplaceSource(ctx, "src", strings.NewReader(geojsonLines(1, 1))); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: mtsRecipe("src", 0, 5), Name: "p"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Publish(ctx, "alice.parks"); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(20 * time.Second)
	_, err := c.Publish(ctx, "alice.parks")
	ae := wantClass(t, "third publish", err, mapbox.ErrRateLimited)
	at, ok := mapbox.RetryAt(err)
	if wait := time.Until(at); !ok || wait < 39*time.Second || wait > 42*time.Second || ae.RateLimit.Limit != 2 || ae.RateLimit.Interval != time.Minute {
		t.Errorf("429: retry in %v (%v), rate limit %+v; want about 40 s, 2 a minute", wait, ok, ae.RateLimit)
	}
	mu.Lock()
	if last.Endpoint != mapbox.EndpointPublish || last.Status != 429 || last.RateLimit.Limit != 2 {
		t.Errorf("observed %+v", last)
	}
	mu.Unlock()
	if _, err := c.Source(ctx, "src"); err != nil {
		t.Errorf("another endpoint: %v", err)
	}
	e.clock.Advance(40 * time.Second)
	if _, err := c.Publish(ctx, "alice.parks"); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

// TestMTSClientFaults: injected failures come out classified.
func TestMTSClientFaults(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{MTS: unlimited}, mapbox.Options{})
	c, ctx := e.client, context.Background()
	if _, err := c.ReplaceSource(ctx, "src", strings.NewReader(geojsonLines(1, 1))); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: mtsRecipe("src", 0, 5), Name: "p"}); err != nil {
		t.Fatal(err)
	}
	e.srv.FailNext(mapbox.EndpointPublish, 1, http.StatusServiceUnavailable)
	_, err := c.Publish(ctx, "alice.parks")
	wantClass(t, "503 on publish", err, mapbox.ErrTransient)
	e.srv.FailAfterNext(mapbox.EndpointPublish, 1, http.StatusGatewayTimeout)
	_, err = c.Publish(ctx, "alice.parks")
	wantClass(t, "504 after the publish took effect", err, mapbox.ErrTransient)
	if n := e.srv.PublishCounts()["alice.parks"]; n != 1 {
		t.Errorf("%d jobs made, want the one the 504 hid", n)
	}
	jobs, _, err := c.ListJobs(ctx, "alice.parks", mapbox.JobListOptions{})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ListJobs: %v, %v", jobs, err)
	}
	e.srv.GarbleNext(mapbox.EndpointJob, 1)
	_, err = c.Job(ctx, "alice.parks", jobs[0].ID)
	wantClass(t, "an HTML answer", err, mapbox.ErrTransient)
	e.clock.Advance(time.Second)
	_, err = c.ReplaceSource(ctx, "src", strings.NewReader(geojsonLines(1, 2)))
	if ae := wantClass(t, "locked source", err, mapbox.ErrTilesetBusy); ae.Status != 409 {
		t.Errorf("locked source: %v", err)
	}
	e.srv.SetDelay(5 * time.Second)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Queue(short)
	wantClass(t, "slow answer", err, mapbox.ErrTransient)
	e.srv.SetDelay(0)
	e.srv.RateLimitMTSFor("", time.Minute)
	_, err = c.Job(ctx, "alice.parks", jobs[0].ID)
	wantClass(t, "429 window", err, mapbox.ErrRateLimited)
}
