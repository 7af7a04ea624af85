package daemon

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

// withMapboxSetting adds a line to the mapbox section of the env's configuration.
func (e *env) withMapboxSetting(line string) {
	e.t.Helper()
	data, err := os.ReadFile(e.ConfigPath)
	if err != nil {
		e.t.Fatal(err)
	}
	text := strings.Replace(string(data), "mapbox:\n", "mapbox:\n  "+line+"\n", 1)
	e.WriteConfig(text)
}

// cleanupLists counts the list requests of cleanups: the only ones that
// list the oldest first.
func (e *env) cleanupLists() int {
	n := 0
	for _, r := range e.Srv.Requests() {
		if r.Endpoint == mapbox.EndpointList && r.Query.Get("reverse") == "true" {
			n++
		}
	}
	return n
}

// The running daemon removes the statuses of completed uploads once they
// are older than mapbox.cleanup_completed_after on Mapbox's clock, and
// only those: not a failed one, not a recent one, and never a tileset.
func TestDaemonCleansUpMapboxsUploadList(t *testing.T) {
	var skew atomic.Int64 // how far Mapbox's clock is ahead of this machine's
	mapboxClock := clock.Func(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	e := newEnv(t, envOptions{clock: mapboxClock})
	e.withMapboxSetting("cleanup_completed_after: 2h")
	e.Srv.SetOutcome("acme.broken", "Tileset is empty.")
	d, err := Open(e.Config(), Options{Logger: e.Logger(), Poll: e.poll, HTTPClient: testenv.HTTPClient(time.Second),
		Cleanup: CleanupPace{Delay: 50 * time.Millisecond, Every: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		d.Close()
	}()

	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	e.Write("broken.geojson", `{"type":"FeatureCollection","features":[{}]}`)
	processed := func() bool {
		n := 0
		for _, u := range e.Srv.Uploads() {
			if !u.Finished.IsZero() {
				n++
			}
		}
		return n == 2
	}
	testkit.WaitFor(t, "both uploads processed", 30*time.Second, processed)
	// Let several cleanups run on the uploads while they are young.
	lists := e.cleanupLists()
	testkit.WaitFor(t, "three cleanups", 10*time.Second, func() bool { return e.cleanupLists() >= lists+3 })
	for _, u := range e.Srv.Uploads() {
		if u.Deleted {
			t.Fatalf("the status of %s was deleted while younger than 2h", u.Tileset)
		}
	}

	skew.Store(int64(3 * time.Hour))
	testkit.WaitFor(t, "the completed upload's status deleted", 30*time.Second, func() bool {
		for _, u := range e.Srv.Uploads() {
			if u.Tileset == "acme.roads" {
				return u.Deleted
			}
		}
		return false
	})
	e.Write("rivers.geojson", `{"type":"FeatureCollection","features":[]}`)
	testkit.WaitFor(t, "a new upload processed", 30*time.Second, func() bool {
		rec, ok := e.Srv.Holds("acme.rivers")
		return ok && rec.Complete
	})
	lists = e.cleanupLists()
	testkit.WaitFor(t, "two more cleanups", 10*time.Second, func() bool { return e.cleanupLists() >= lists+2 })
	for _, u := range e.Srv.Uploads() {
		if want := u.Tileset == "acme.roads"; u.Deleted != want {
			t.Errorf("%s: deleted %v, want %v", u.Tileset, u.Deleted, want)
		}
	}
	if _, ok := e.Srv.Holds("acme.roads"); !ok {
		t.Error("acme.roads holds nothing: the cleanup touched the tileset")
	}
	if !strings.Contains(e.Logs.String(), "cleanup: completed upload statuses removed") {
		t.Error("no log line counts the removed statuses")
	}
}

// Without the setting, the daemon never lists or deletes for a cleanup.
func TestDaemonCleanupOff(t *testing.T) {
	e := newEnv(t, envOptions{})
	d, err := Open(e.Config(), Options{Logger: e.Logger(), Poll: e.poll, HTTPClient: testenv.HTTPClient(time.Second),
		Cleanup: CleanupPace{Delay: time.Millisecond, Every: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.runCleanup(context.Background()); err != nil { // returns at once
		t.Fatal(err)
	}
	if n := e.Requests(); n != 0 {
		t.Errorf("%d API requests with the cleanup off", n)
	}
}
