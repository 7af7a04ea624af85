package daemon

import (
	"context"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSyncOnceExamples(t *testing.T) {
	e := newEnv(t, envOptions{})
	rels := e.copyExamples()
	sum := e.syncOnce()
	if sum.Uploaded != int64(len(rels)) || sum.Failed != 0 || sum.Refused != 0 {
		t.Fatalf("first sync: %+v, want %d uploaded", sum, len(rels))
	}
	for ts, n := range e.UploadsByTileset() {
		if n != 1 {
			t.Errorf("tileset %s uploaded %d times", ts, n)
		}
	}
	if got := len(e.UploadsByTileset()); got != len(rels) {
		t.Errorf("%d tilesets uploaded, want %d", got, len(rels))
	}

	// A restart over unchanged files sends nothing.
	before := e.Requests()
	sum = e.syncOnce()
	if sum.Uploaded != 0 || e.Requests() != before {
		t.Errorf("second sync over unchanged files: %+v, %d API requests", sum, e.Requests()-before)
	}

	// One file modified: exactly one new upload.
	e.Write("trees.csv", "id,species,lat,lon\n1,oak,40.8001,-73.9791\n")
	sum = e.syncOnce()
	if sum.Uploaded != 1 || e.UploadsByTileset()["acme.trees"] != 2 {
		t.Errorf("after modifying trees.csv: %+v, uploads %v", sum, e.UploadsByTileset())
	}

	// A file moved to another folder keeps its tileset ({stem}): known content, no upload.
	if err := os.Rename(filepath.Join(e.Drop, "trees.csv"), filepath.Join(e.Drop, "parks", "trees.csv")); err != nil {
		t.Fatal(err)
	}
	before = len(e.Srv.Uploads())
	sum = e.syncOnce()
	if sum.Uploaded != 0 || len(e.Srv.Uploads()) != before || sum.Unchanged != 1 {
		t.Errorf("after moving trees.csv: %+v, %d new uploads", sum, len(e.Srv.Uploads())-before)
	}
}

func TestRunWatchesAndUploads(t *testing.T) {
	e := newEnv(t, envOptions{})
	d := e.open()
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	e.Write("a/roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	e.Write("b/lakes.kml", `<kml/>`)
	testkit.WaitFor(t, "two uploads", 30*time.Second, func() bool { return d.Syncer().Stats().Uploaded.Load() == 2 })
	if got := e.UploadsByTileset(); got["acme.roads"] != 1 || got["acme.lakes"] != 1 {
		t.Errorf("uploads = %v", got)
	}
}

// TestSyncOnceConflict: two files that map to one tileset are decided each
// alone, as the daemon decides them; the sync says so, naming both, and
// after one sync each the tileset stops changing.
func TestSyncOnceConflict(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.Write("a/roads.geojson", `{"type":"FeatureCollection","features":[],"v":"a"}`)
	e.Write("b/roads.geojson", `{"type":"FeatureCollection","features":[],"v":"b"}`)
	sum := e.syncOnce()
	if sum.Uploaded != 1 || e.UploadsByTileset()["acme.roads"] != 1 {
		t.Fatalf("first sync: %+v, uploads %v; want 1 (the later file replaces the earlier before it is sent)", sum, e.UploadsByTileset())
	}
	logs := e.Logs.String()
	if !strings.Contains(logs, "conflict: two files map to one tileset") ||
		!strings.Contains(logs, filepath.Join("a", "roads.geojson")) || !strings.Contains(logs, filepath.Join("b", "roads.geojson")) {
		t.Errorf("no conflict warning naming both files:\n%s", logs)
	}
	// The superseded file is sent by the next sync, then neither again.
	e.syncOnce()
	before := len(e.Srv.Uploads())
	if sum := e.syncOnce(); sum.Uploaded != 0 || len(e.Srv.Uploads()) != before {
		t.Errorf("third sync: %+v, %d new uploads; want none", sum, len(e.Srv.Uploads())-before)
	}
}
