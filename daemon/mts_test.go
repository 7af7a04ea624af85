package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/convert"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"
)

// The MTS pipeline end to end: the real daemon, the simulator's MTS routes
// over HTTP, real files converted into the spool. Files under mts/ go to
// MTS tilesets "acme.m-{stem}" with the recipe recipe.json (one layer named
// after the file); every other file goes through the Uploads API.

const mtsRecipe = `{"version": 1, "layers": {"{layer}": {"source": "{source}", "minzoom": 0, "maxzoom": %d}}}`

// mtsOptions shape an MTS env.
type mtsOptions struct {
	sim         mapboxsim.MTSOptions // QueueTime, ProcessingTime default 50 ms and 300 ms; 600 publishes a minute
	maxQueued   int                  // mapbox.mts_max_queued; 0: the default
	incremental bool                 // the rule publishes changesets (its recipe says so)
	rules       string               // more rules, before the MTS one
}

// newMTSEnv is newEnv with an MTS rule before the catch-all one.
func newMTSEnv(t *testing.T, o mtsOptions) *env {
	t.Helper()
	if o.sim.QueueTime == 0 {
		o.sim.QueueTime = 50 * time.Millisecond
	}
	if o.sim.ProcessingTime == 0 {
		o.sim.ProcessingTime = 300 * time.Millisecond
	}
	if o.sim.RateLimits == nil {
		o.sim.RateLimits = map[mapbox.Endpoint]int{mapbox.EndpointPublish: 600, mapbox.EndpointPublishChanges: 600}
	}
	te := testenv.New(t, testenv.Options{Sim: mapboxsim.Options{ProcessingTime: 300 * time.Millisecond, MTS: o.sim}})
	e := &env{Env: te, t: t, poll: fastPoll}
	e.writeRecipe(10)
	rule := ""
	if o.incremental {
		recipe := strings.Replace(fmt.Sprintf(mtsRecipe, 10), `{"version": 1,`, `{"version": 1, "incremental": true,`, 1)
		if err := os.WriteFile(filepath.Join(e.Dir, "recipe.json"), []byte(recipe), 0o644); err != nil {
			t.Fatal(err)
		}
		rule = "    incremental: true\n"
	}
	rule += o.rules
	extra := ""
	if o.maxQueued > 0 {
		extra = fmt.Sprintf("  mts_max_queued: %d\n", o.maxQueued)
	}
	te.WriteConfig(fmt.Sprintf(`mapbox:
  username: acme
  api_url: %s
  s3_endpoint: %s
  requests_per_minute: 60000
  publishes_per_minute: 600
%sstate:
  path: %s
watch:
  - path: %s
    mode: poll
    poll_interval: 100ms
    settle: 200ms
rules:
  - match: "mts/*"
    target: mts
    tileset: "{username}.m-{stem}"
    recipe: recipe.json
    layer: "{stem}"
%s  - match: "**"
    tileset: "{username}.{stem}"
control:
  listen: "off"
`, te.Srv.URL(), te.Storage.Endpoint(), extra, te.StatePath, te.Drop, rule))
	return e
}

// writeRecipe writes recipe.json with maxzoom.
func (e *env) writeRecipe(maxzoom int) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.Dir, "recipe.json"), []byte(fmt.Sprintf(mtsRecipe, maxzoom)), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// start runs a daemon on the env until the test ends or stop is called.
func (e *env) start() (d *Daemon, stop func()) {
	e.t.Helper()
	d = e.open()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
		d.Close()
	}
	e.t.Cleanup(stop)
	return d, stop
}

// converted is the SHA-256 of the line-delimited GeoJSON the file rel of
// the drop folder converts to: what an MTS tileset built from it read.
func (e *env) converted(rel string) string {
	e.t.Helper()
	st, err := convert.Convert(context.Background(), convert.Input{Path: filepath.Join(e.Drop, filepath.FromSlash(rel))}, io.Discard)
	if err != nil {
		e.t.Fatalf("convert %s: %v", rel, err)
	}
	return st.SHA256
}

// holdsMTS reports whether tileset's last successful job read sha.
func (e *env) holdsMTS(tileset, sha string) bool {
	j, ok := e.Srv.HoldsMTS(tileset)
	return ok && j.SHA256 == sha
}

// waitMTS waits until each MTS file (rel → tileset) is what its tileset's
// last successful job was built from.
func (e *env) waitMTS(files map[string]string, timeout time.Duration) {
	e.t.Helper()
	want := map[string]string{}
	for rel, ts := range files {
		want[ts] = e.converted(rel)
	}
	testkit.WaitFor(e.t, fmt.Sprintf("the MTS tilesets %v built from the files' bytes", files), timeout, func() bool {
		for ts, sha := range want {
			if !e.holdsMTS(ts, sha) {
				return false
			}
		}
		return true
	})
}

// waitIdle waits until d's queue is empty (failed jobs aside).
func waitIdle(t *testing.T, d *Daemon, timeout time.Duration) {
	t.Helper()
	testkit.WaitFor(t, "the queue to drain", timeout, func() bool { idle, err := d.Syncer().Idle(); return err == nil && idle })
}

const parks = `{"type":"FeatureCollection","features":[
{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[13.4,52.5]},"properties":{"name":"Tiergarten"}},
{"type":"Feature","id":2,"geometry":{"type":"Point","coordinates":[13.5,52.4]},"properties":{"name":"Treptower Park"}}]}`

const trees = "lat,lon,species\n52.5,13.4,oak\n52.51,13.41,linden\n"

func TestMTSPublishEndToEnd(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Write("mts/parks.geojson", parks)
	e.Write("mts/trees.csv", trees)
	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	d, stop := e.start()
	files := map[string]string{"mts/parks.geojson": "acme.m-parks", "mts/trees.csv": "acme.m-trees"}
	e.waitMTS(files, 30*time.Second)
	testkit.WaitFor(t, "the Uploads API file uploaded", 30*time.Second, func() bool { _, ok := e.Srv.Holds("acme.roads"); return ok })
	waitIdle(t, d, 10*time.Second)
	if got := e.Srv.PublishCounts(); got["acme.m-parks"] != 1 || got["acme.m-trees"] != 1 {
		t.Errorf("publishes %v, want one a tileset", got)
	}
	if n := e.UploadsByTileset()["acme.m-parks"]; n != 0 {
		t.Errorf("the MTS file went through the Uploads API too (%d uploads)", n)
	}
	// The job's record: its publish job, compute units, in the history.
	hist, err := d.Store().TilesetHistory("acme.m-parks")
	if err != nil {
		t.Fatal(err)
	}
	last := hist[0]
	held, _ := e.Srv.HoldsMTS("acme.m-parks")
	if last.Outcome != state.OutcomeUploaded || last.Target != state.TargetMTS || last.UploadID != held.ID || last.CU <= 0 {
		t.Errorf("history %+v, want the publish job %s with its compute units", last, held.ID)
	}
	if !strings.Contains(string(held.Recipe), `"parks"`) || !strings.Contains(string(held.Recipe), "mapbox://tileset-source/acme/m-parks") {
		t.Errorf("the job's recipe %s does not name the layer parks and the source m-parks", held.Recipe)
	}

	// Touched but unchanged: converted again, nothing published.
	unchanged := d.Intake().Stats().Unchanged.Load()
	e.Write("mts/parks.geojson", parks)
	testkit.WaitFor(t, "the touched file found unchanged", 10*time.Second, func() bool { return d.Intake().Stats().Unchanged.Load() > unchanged })
	// Changed: one more publish, built from the new bytes.
	e.Write("mts/trees.csv", trees+"52.52,13.42,maple\n")
	e.waitMTS(files, 30*time.Second)
	waitIdle(t, d, 10*time.Second)
	if got := e.Srv.PublishCounts(); got["acme.m-parks"] != 1 || got["acme.m-trees"] != 2 {
		t.Errorf("publishes %v, want 1 for the unchanged file and 2 for the changed one", got)
	}
	stop()

	// A restart over unchanged files and recipe: no request at all to MTS.
	before := e.Requests()
	d, stop = e.start()
	testkit.WaitFor(t, "the restart's scan", 10*time.Second, func() bool { return d.Intake().Stats().Seen.Load() >= 3 })
	waitIdle(t, d, 10*time.Second)
	stop()
	if n := e.Requests() - before; n != 0 {
		t.Errorf("a restart over unchanged files sent %d requests", n)
	}

	// The recipe edited: each MTS tileset is published again with it; the
	// Uploads API file is not sent again.
	e.writeRecipe(12)
	d, stop = e.start()
	testkit.WaitFor(t, "both tilesets published with the new recipe", 30*time.Second, func() bool {
		for _, ts := range files {
			j, ok := e.Srv.HoldsMTS(ts)
			if !ok || !strings.Contains(string(j.Recipe), `"maxzoom":12`) {
				return false
			}
		}
		return true
	})
	e.waitMTS(files, 10*time.Second)
	waitIdle(t, d, 10*time.Second)
	if got := e.Srv.PublishCounts(); got["acme.m-parks"] != 2 || got["acme.m-trees"] != 3 {
		t.Errorf("publishes %v after the recipe changed, want one more each", got)
	}
	if n := e.UploadsByTileset()["acme.roads"]; n != 1 {
		t.Errorf("the Uploads API file was uploaded %d times, want once", n)
	}
}

// TestMTSLostPublishAnswer: the publish takes effect and its answer is
// lost; the job is found in the tileset's jobs and not published again.
func TestMTSLostPublishAnswer(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Srv.DropAfterNext(mapbox.EndpointPublish, 1)
	e.Write("mts/parks.geojson", parks)
	d, _ := e.start()
	e.waitMTS(map[string]string{"mts/parks.geojson": "acme.m-parks"}, 30*time.Second)
	waitIdle(t, d, 10*time.Second)
	if n := e.Srv.PublishCounts()["acme.m-parks"]; n != 1 {
		t.Errorf("%d publish jobs, want 1: the lost answer's job must be found, not published again", n)
	}
	if !strings.Contains(e.Logs.String(), "found the job an earlier publish made") {
		t.Errorf("the log does not say the job was recovered")
	}
}

// TestMTSPublishRateLimited: a 429 on publish holds publishes until the
// reset; the job is published once, after it.
func TestMTSPublishRateLimited(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Srv.RateLimitMTSFor(mapbox.EndpointPublish, 2*time.Second)
	e.Write("mts/parks.geojson", parks)
	d, _ := e.start()
	e.waitMTS(map[string]string{"mts/parks.geojson": "acme.m-parks"}, 30*time.Second)
	waitIdle(t, d, 10*time.Second)
	if got := e.Srv.StatusCounts()[mapbox.EndpointPublish]; got[429] == 0 || got[200] != 1 {
		t.Errorf("publish answers %v, want a 429 and then one 200", got)
	}
	if n := e.Srv.PublishCounts()["acme.m-parks"]; n != 1 {
		t.Errorf("%d publish jobs, want 1", n)
	}
}

// TestMTSFailedJob: a job Mapbox fails is reported with Mapbox's errors
// and not published again until the file changes.
func TestMTSFailedJob(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Srv.SetJobOutcome("acme.m-parks", mapboxsim.JobOutcome{Errors: []string{"Tileset exceeds the tile size limit."}})
	e.Write("mts/parks.geojson", parks)
	d, stop := e.start()
	testkit.WaitFor(t, "the job failed", 30*time.Second, func() bool { f, err := d.Store().Failed(); return err == nil && len(f) == 1 })
	f, _ := d.Store().Failed()
	if !strings.Contains(f[0].LastError, "Tileset exceeds the tile size limit.") {
		t.Errorf("failure %q, want Mapbox's error", f[0].LastError)
	}
	stop()
	before := e.Srv.PublishCounts()["acme.m-parks"]
	d, _ = e.start()
	testkit.WaitFor(t, "the restart's scan", 10*time.Second, func() bool { return d.Intake().Stats().Seen.Load() >= 1 })
	e.Srv.SetJobOutcome("acme.m-parks", mapboxsim.JobOutcome{Warnings: []string{"W201 features dropped for tile size"}})
	e.Write("mts/parks.geojson", strings.Replace(parks, "Tiergarten", "Großer Tiergarten", 1))
	e.waitMTS(map[string]string{"mts/parks.geojson": "acme.m-parks"}, 30*time.Second)
	waitIdle(t, d, 10*time.Second)
	if n := e.Srv.PublishCounts()["acme.m-parks"]; n != before+1 {
		t.Errorf("%d publishes after the change, want %d: the failed content is not published again", n, before+1)
	}
	hist, _ := d.Store().TilesetHistory("acme.m-parks")
	if last := hist[0]; len(last.Warnings) != 1 || !strings.HasPrefix(last.Warnings[0], "W201") {
		t.Errorf("history %+v, want the job's W201 warning", last)
	}
	if !strings.Contains(e.Logs.String(), "published, with warnings") {
		t.Errorf("the log does not show the warnings")
	}
	// The metrics count the publish job, its compute units and its warning.
	mfs := scrapeOf(t, d)
	if v, _ := value(mfs, "tilesyncd_mts_publish_jobs_total", map[string]string{"result": "success"}); v != 1 {
		t.Errorf("tilesyncd_mts_publish_jobs_total{result=success} = %v, want 1", v)
	}
	if v, _ := value(mfs, "tilesyncd_mts_warnings_total", map[string]string{"code": "W201"}); v != 1 {
		t.Errorf("tilesyncd_mts_warnings_total{code=W201} = %v, want 1", v)
	}
	if v, _ := value(mfs, "tilesyncd_mts_compute_units_total", nil); v <= 0 || v != hist[0].CU {
		t.Errorf("tilesyncd_mts_compute_units_total = %v, want the job's %v", v, hist[0].CU)
	}
}

// TestMTSLockedSource: another client's publish job reads the tileset's
// source when the file changes: the replace gets 409, waits for the job,
// then replaces and publishes.
func TestMTSLockedSource(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Write("mts/parks.geojson", parks)
	d, _ := e.start()
	files := map[string]string{"mts/parks.geojson": "acme.m-parks"}
	e.waitMTS(files, 30*time.Second)
	waitIdle(t, d, 10*time.Second)

	e.Srv.SetJobTiming(0, 3*time.Second)
	other := e.client()
	if _, err := other.Publish(context.Background(), "acme.m-parks"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the other job processing", 10*time.Second, func() bool {
		for _, j := range e.Srv.MTSJobs() {
			if j.Stage == mapbox.JobProcessing {
				return true
			}
		}
		return false
	})
	e.Write("mts/parks.geojson", strings.Replace(parks, "Treptower Park", "Treptower Park (east)", 1))
	e.waitMTS(files, 30*time.Second)
	if got := e.Srv.StatusCounts()[mapbox.EndpointSourceReplace]; got[409] == 0 {
		t.Errorf("source replace answers %v, want a 409 while the other job ran", got)
	}
	if n := e.Srv.PublishCounts()["acme.m-parks"]; n != 3 {
		t.Errorf("%d publish jobs, want 3 (ours, the other's, ours)", n)
	}
}

// TestMTSSupersededFollowed: another client's publish supersedes our
// queued job; the newer job reads the same source, so ours follows it and
// nothing is published again.
func TestMTSSupersededFollowed(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Srv.StallJobs("acme.m-parks", true)
	e.Write("mts/parks.geojson", parks)
	d, _ := e.start()
	testkit.WaitFor(t, "our job queued", 30*time.Second, func() bool { return e.Srv.PublishCounts()["acme.m-parks"] == 1 })
	if _, err := e.client().Publish(context.Background(), "acme.m-parks"); err != nil {
		t.Fatal(err)
	}
	e.Srv.StallJobs("acme.m-parks", false)
	e.waitMTS(map[string]string{"mts/parks.geojson": "acme.m-parks"}, 30*time.Second)
	waitIdle(t, d, 10*time.Second)
	if n := e.Srv.PublishCounts()["acme.m-parks"]; n != 2 {
		t.Errorf("%d publish jobs, want 2 (ours, superseded, and the other's): nothing published again", n)
	}
	if !strings.Contains(e.Logs.String(), "following it, not publishing again") {
		t.Errorf("the log does not say the job followed the newer one")
	}
}

// TestMTSQueueLimit: with mts_max_queued 1 and Mapbox's queue stalled,
// at most one publish job waits at a time.
func TestMTSQueueLimit(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{maxQueued: 1})
	e.Srv.StallJobs("", true)
	files := map[string]string{}
	for i := range 3 {
		rel := fmt.Sprintf("mts/p%d.geojson", i)
		e.Write(rel, strings.Replace(parks, "Tiergarten", fmt.Sprintf("Park %d", i), 1))
		files[rel] = fmt.Sprintf("acme.m-p%d", i)
	}
	d, _ := e.start()
	testkit.WaitFor(t, "a job queued", 30*time.Second, func() bool { return len(e.Srv.MTSJobs()) == 1 })
	testkit.WaitFor(t, "the others held back", 30*time.Second, func() bool {
		return strings.Count(e.Logs.String(), "the most mapbox.mts_max_queued allows") >= 2
	})
	if n := len(e.Srv.MTSJobs()); n != 1 {
		t.Fatalf("%d jobs at Mapbox while its queue is stalled, want 1", n)
	}
	e.Srv.StallJobs("", false)
	e.waitMTS(files, 60*time.Second)
	waitIdle(t, d, 10*time.Second)
	for _, ts := range files {
		if n := e.Srv.PublishCounts()[ts]; n != 1 {
			t.Errorf("%s: %d publishes, want 1", ts, n)
		}
	}
}

// client is a second client of the account (another tool publishing).
func (e *env) client() *mapbox.Client {
	e.t.Helper()
	c, err := mapbox.New(mapbox.Options{BaseURL: e.Srv.URL(), Username: "acme", Token: testenv.Token})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestMTSRefusedConversion: a file whose content cannot be converted is
// refused once, with the reason, and costs no request.
func TestMTSRefusedConversion(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Write("mts/bad.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]},"properties":{}}]}`)
	e.Write("mts/none.geojson", `{"type":"FeatureCollection","features":[]}`)
	sum := e.syncOnce()
	if sum.Refused != 2 || e.Requests() != 0 {
		t.Errorf("summary %+v and %d requests, want 2 refused and no request", sum, e.Requests())
	}
	if sum := e.syncOnce(); sum.Refused != 0 {
		t.Errorf("the refused files were read again: %+v", sum)
	}
	if !bytes.Contains([]byte(e.Logs.String()), []byte("no features to publish")) {
		t.Errorf("the log does not give the reason")
	}
	// sync --once publishes and waits for the job.
	e.Write("mts/parks.geojson", parks)
	if sum := e.syncOnce(); sum.Uploaded != 1 || !e.holdsMTS("acme.m-parks", e.converted("mts/parks.geojson")) {
		t.Errorf("sync --once of an MTS file: %+v", sum)
	}
}

// TestMTSRecipeEditedReloads: the supervised daemon reloads when an MTS
// rule's recipe file changes, and publishes its files again with it.
func TestMTSRecipeEditedReloads(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	e.Write("mts/parks.geojson", parks)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := Options{Logger: e.Logger(), Poll: e.poll, HTTPClient: testenv.HTTPClient(time.Second)}
	go func() {
		done <- Supervise(ctx, e.Config(), opts, Lifecycle{ConfigPath: e.ConfigPath, CheckInterval: 50 * time.Millisecond,
			Load: func(p string) (*config.Config, error) {
				return config.Load(p, config.LoadOptions{RequireToken: true, Getenv: testenv.Getenv})
			}})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Supervise: %v", err)
		}
	}()
	files := map[string]string{"mts/parks.geojson": "acme.m-parks"}
	e.waitMTS(files, 30*time.Second)
	e.writeRecipe(13)
	testkit.WaitFor(t, "the tileset published with the edited recipe", 30*time.Second, func() bool {
		j, ok := e.Srv.HoldsMTS("acme.m-parks")
		return ok && strings.Contains(string(j.Recipe), `"maxzoom":13`)
	})
	if !strings.Contains(e.Logs.String(), "recipe file changed: reloading") {
		t.Error("the log does not say why it reloaded")
	}
}

// TestMTSTargetSwitched: a rule's target changed from the Uploads API to
// MTS sends its unchanged files again, to MTS: a tileset the Uploads API
// made is not one MTS manages (Mapbox says so), which is reported as the
// file's failure, not passed over as unchanged.
func TestMTSTargetSwitched(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{})
	mtsCfg, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	uploadsCfg := strings.Replace(string(mtsCfg), "    target: mts\n", "", 1)
	uploadsCfg = strings.Replace(uploadsCfg, "    recipe: recipe.json\n    layer: \"{stem}\"\n", "", 1)
	e.WriteConfig(uploadsCfg)
	e.Write("mts/parks.geojson", parks)
	if sum := e.syncOnce(); sum.Uploaded != 1 || e.UploadsByTileset()["acme.m-parks"] != 1 {
		t.Fatalf("through the Uploads API: %+v, uploads %v", sum, e.UploadsByTileset())
	}
	e.WriteConfig(string(mtsCfg))
	sum := e.syncOnce()
	if sum.Failed != 1 || len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0].LastError, "was not created with the /tilesets/v1 endpoint") {
		t.Errorf("after the rule's target became mts: %+v", sum)
	}
}
