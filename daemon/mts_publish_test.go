package daemon

import (
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"
)

// TestMTSChangedWhileWaitingToPublish: a file changes while its job, its
// source already replaced, waits to publish (the account's queue at
// Mapbox is full): the stale content is not published (each publish is
// billed), only the newer one.
func TestMTSChangedWhileWaitingToPublish(t *testing.T) {
	e, d := startWithAPublishWaiting(t)
	e.Write("mts/parks.geojson", strings.Replace(parks, "Tiergarten", "Großer Tiergarten", 1))
	files := map[string]string{"mts/parks.geojson": "acme.m-parks", "mts/trees.csv": "acme.m-trees"}
	e.waitMTS(files, 30*time.Second)
	waitIdle(t, d, 10*time.Second)
	if n := e.Srv.PublishCounts()["acme.m-parks"]; n != 1 {
		t.Errorf("%d publishes of acme.m-parks, want 1: the content replaced while it waited was published", n)
	}
}

// TestMTSPublishesInQueueOrder: a job that waited to publish (the
// account's queue at Mapbox full) publishes before a job queued after it,
// even when the younger one is ready first as the queue frees.
func TestMTSPublishesInQueueOrder(t *testing.T) {
	e, _ := startWithAPublishWaiting(t)
	e.waitMTS(map[string]string{"mts/trees.csv": "acme.m-trees"}, 10*time.Second) // the queue at Mapbox is free again
	e.Write("mts/lakes.geojson", strings.Replace(parks, "Tiergarten", "Wannsee", 1))
	e.waitMTS(map[string]string{"mts/parks.geojson": "acme.m-parks", "mts/lakes.geojson": "acme.m-lakes"}, 30*time.Second)
	var order []string
	for _, r := range e.Srv.Requests() {
		if r.Endpoint == mapbox.EndpointPublish && r.Status < 300 {
			order = append(order, path.Base(path.Dir(r.Path)))
		}
	}
	if want := []string{"acme.m-trees", "acme.m-parks", "acme.m-lakes"}; !slices.Equal(order, want) {
		t.Errorf("publishes in the order %v, want %v (queue order)", order, want)
	}
}

// startWithAPublishWaiting starts a daemon on an account whose queue at
// Mapbox holds one job (mts_max_queued: 1, jobs queued there 2 s): the
// publish of mts/trees.csv goes, then that of mts/parks.geojson, its
// source replaced, waits for the queue.
func startWithAPublishWaiting(t *testing.T) (*env, *Daemon) {
	t.Helper()
	e := newMTSEnv(t, mtsOptions{sim: mapboxsim.MTSOptions{QueueTime: 2 * time.Second}, maxQueued: 1})
	e.Write("mts/trees.csv", trees)
	d, _ := e.start()
	testkit.WaitFor(t, "the first publish", 10*time.Second, func() bool { return e.Srv.PublishCounts()["acme.m-trees"] == 1 })
	e.Write("mts/parks.geojson", parks)
	testkit.WaitFor(t, "the second file's job to wait for the queue", 10*time.Second, func() bool {
		jobs, err := d.Store().ListJobs(state.JobFilter{Stages: []state.Stage{state.StageRetryWait}})
		return err == nil && len(jobs) == 1 && jobs[0].Tileset == "acme.m-parks" && jobs[0].RetryFrom == state.StageStaged
	})
	return e, d
}
