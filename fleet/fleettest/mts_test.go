package fleettest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/convert"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// mtsRule sends the shared folder's mts/ files to MTS tilesets
// "acme.m-{stem}", one tileset each; the recipe is recipe.json beside the
// configuration.
const mtsRule = `rules:
  - match: "mts/*"
    target: mts
    tileset: "{username}.m-{stem}"
    recipe: %RECIPE%
    layer: "{stem}"
`

// mtsNode is node on the shared folder with the MTS rule before the others
// (publishing changesets when incremental) and a publish budget that does
// not pace the test (mapbox.publishes_per_minute).
func (w *world) mtsNode(name string, incremental bool) *testenv.Env {
	w.t.Helper()
	env := w.node(name, nodeOptions{shared: true})
	recipe := filepath.Join(w.base.Dir, "recipe.json")
	text := `{"version": 1, "layers": {"{layer}": {"source": "{source}", "minzoom": 0, "maxzoom": 10}}}`
	rule := mtsRule
	if incremental {
		text = strings.Replace(text, `{"version": 1,`, `{"version": 1, "incremental": true,`, 1)
		rule += "    incremental: true\n"
	}
	if err := os.WriteFile(recipe, []byte(text), 0o644); err != nil {
		w.t.Fatal(err)
	}
	cfg, err := os.ReadFile(env.ConfigPath)
	if err != nil {
		w.t.Fatal(err)
	}
	text = strings.Replace(string(cfg), "rules:\n", strings.Replace(rule, "%RECIPE%", recipe, 1), 1)
	env.WriteConfig(strings.Replace(text, "mapbox:\n", "mapbox:\n  publishes_per_minute: 600\n", 1))
	return env
}

// TestMTSSharedFolderPublishesOnce: node a's publish of a shared folder's
// MTS tileset takes effect at Mapbox, its answer is lost, and a is killed
// (SIGKILL) before it learns of the job. Node b takes the tileset over: it
// resolves a's intent through the tileset's publish jobs and does not
// publish again (a publish is billed); nor does a, started again.
func TestMTSSharedFolderPublishesOnce(t *testing.T) {
	w := newMTSWorld(t)
	srv := w.base.Srv
	w.writeMTS(map[int]string{1: "Tiergarten"})
	envA, envB := w.mtsNode("a", false), w.mtsNode("b", false)
	srv.DropAfterNext(mapbox.EndpointPublish, 1) // the publish takes effect; its answer is lost
	a := w.spawn("a", envA)
	if !w.awaitRequest(mapbox.EndpointPublish, 30*time.Second) {
		t.Fatal("node a sent no publish")
	}
	a.kill()
	published := func() int { return srv.Counts()[mapbox.EndpointPublish] }
	if n := published(); n != 1 {
		t.Fatalf("%d publishes before the takeover, want 1", n)
	}

	b := w.run("b", envB)
	testkit.WaitFor(t, "the tileset built, and node b idle", time.Minute, func() bool {
		_, built := srv.HoldsMTS("acme.m-parks")
		return built && b.idle()
	})
	if !strings.Contains(envB.Logs.String(), "resolved a create the fleet had not settled: Mapbox made the upload") {
		t.Errorf("node b's log does not show a's intent resolved through Mapbox's jobs")
	}
	b.stop()
	again := w.run("a", envA)
	testkit.WaitFor(t, "node a idle again", time.Minute, again.idle)
	again.stop()
	if n := published(); n != 1 {
		t.Errorf("%d publishes of one content, want 1 (billed twice)", n)
	}
	if h := srv.MTSHistory("acme.m-parks"); len(h) != 1 {
		t.Errorf("the tileset's successful jobs: %d, want 1", len(h))
	}
}

// TestMTSSharedFolderChangesetBase: a changeset is the difference from
// what the tileset holds. Node a publishes v1, node b v2 (a down), then a
// gets v3, which puts back the feature v2 changed: a's own last publish
// (v1) is not what the tileset holds, so a publishes v3 in full; a
// changeset from v1 would leave v2's feature in the tileset.
func TestMTSSharedFolderChangesetBase(t *testing.T) {
	w := newMTSWorld(t)
	srv := w.base.Srv
	envA, envB := w.mtsNode("a", true), w.mtsNode("b", true)
	features := map[int]string{}
	for i := range 20 {
		features[i] = fmt.Sprintf("tree %d", i)
	}
	step := func(name string, env *testenv.Env, publishes int) mapboxsim.MTSJobRecord {
		t.Helper()
		w.writeMTS(features)
		p := w.run(name, env)
		testkit.WaitFor(t, fmt.Sprintf("publish %d, by node %s", publishes, name), time.Minute, func() bool {
			return srv.PublishCounts()["acme.m-parks"] == publishes && p.idle()
		})
		p.stop()
		j, _ := srv.HoldsMTS("acme.m-parks")
		return j
	}
	step("a", envA, 1)
	features[3] = "oak 3"
	step("b", envB, 2)
	features[3], features[5] = "tree 3", "elm 5"
	j := step("a", envA, 3)
	if j.Changesets || j.SHA256 != w.converted() {
		t.Errorf("v3 published as a changeset %v, reading %.12s; want in full, reading the file's %.12s", j.Changesets, j.SHA256, w.converted())
	}
}

// newMTSWorld is a world whose simulator runs MTS jobs quickly.
func newMTSWorld(t *testing.T) *world {
	w := newWorld(t, worldOptions{sim: mapboxsim.Options{MTS: mapboxsim.MTSOptions{
		QueueTime: 50 * time.Millisecond, ProcessingTime: 300 * time.Millisecond,
		RateLimits: map[mapbox.Endpoint]int{mapbox.EndpointPublish: 600, mapbox.EndpointPublishChanges: 600},
	}}})
	if err := os.MkdirAll(filepath.Join(w.base.Drop, "mts"), 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

// writeMTS writes mts/parks.geojson into the shared folder: a point per
// feature, by id, named.
func (w *world) writeMTS(names map[int]string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.base.Drop, "mts", "parks.geojson"), []byte(testkit.FeatureCollection(names)), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// converted is the SHA-256 of what mts/parks.geojson converts to: what a
// full publish of it reads.
func (w *world) converted() string {
	w.t.Helper()
	st, err := convert.Convert(context.Background(), convert.Input{Path: filepath.Join(w.base.Drop, "mts", "parks.geojson")}, io.Discard)
	if err != nil {
		w.t.Fatal(err)
	}
	return st.SHA256
}

// TestMTSSharedRedisRestartedEmpty: node a publishes a shared folder's MTS
// tileset, then Redis restarts without its data. Node a tells the empty
// ledger what the tileset holds, having checked the tileset's newest
// publish job is its own, so node b, started afterwards with the same
// file, does not publish it a second time.
func TestMTSSharedRedisRestartedEmpty(t *testing.T) {
	w := newMTSWorld(t)
	srv := w.base.Srv
	envA, envB := w.mtsNode("a", false), w.mtsNode("b", false)
	w.writeMTS(map[int]string{1: "Tiergarten"})
	a := w.run("a", envA)
	testkit.WaitFor(t, "node a's publish", time.Minute, func() bool { return srv.PublishCounts()["acme.m-parks"] == 1 && a.idle() })
	w.redis.Kill()
	w.redis.Restart(false)
	testkit.WaitFor(t, "node a to tell the empty ledger what the tileset holds", time.Minute, func() bool {
		return strings.Contains(envA.Logs.String(), "told the fleet's ledger what shared tilesets hold")
	})
	b := w.run("b", envB)
	testkit.WaitFor(t, "node b to skip the content or publish it", time.Minute, func() bool {
		return b.D.Syncer().Stats().Unchanged.Load() > 0 || srv.PublishCounts()["acme.m-parks"] > 1
	})
	if n := srv.PublishCounts()["acme.m-parks"]; n != 1 {
		t.Errorf("%d publishes of one content, want 1", n)
	}
}
