package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// TestUnreadableFileTriedAgain: a reported file the syncer cannot read is
// not dropped. The tests run as root, for whom permissions do not stop a
// read, so the path is a link to a folder when first reported; it then
// becomes, in one rename, the very file that was reported (same size, time
// and inode), as a file does when its permissions are fixed, and no new
// report comes: the syncer's own retry must send it.
func TestUnreadableFileTriedAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	d := e.open()
	defer d.Close()

	ready := filepath.Join(e.Dir, "roads.geojson") // same filesystem as the drop folder
	if err := os.WriteFile(ready, []byte(`{"type":"FeatureCollection","features":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(ready)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(e.Drop, "roads.geojson")
	if err := os.Symlink(e.Dir, target); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	events := make(chan watcher.Event, 1)
	go func() { done <- runPipeline(ctx, d, events) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	events <- watcher.Event{Kind: watcher.Ready, Root: e.Drop, Rel: "roads.geojson",
		Size: fi.Size(), ModTime: fi.ModTime(), FileID: state.FileIdentity(fi), Initial: true}
	testkit.WaitFor(t, "the warning that the file cannot be read", 10*time.Second, func() bool {
		return strings.Contains(e.Logs.String(), "cannot read the file; trying again later")
	})
	if n := len(e.Srv.Uploads()); n != 0 {
		t.Fatalf("%d uploads of an unreadable file", n)
	}

	if err := os.Rename(ready, target); err != nil { // replaces the link at once
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the upload once the file can be read", 30*time.Second, func() bool {
		return d.Syncer().Stats().Uploaded.Load() == 1
	})
	if got := e.UploadsByTileset()["acme.roads"]; got != 1 {
		t.Errorf("acme.roads uploaded %d times, want 1", got)
	}
}
