package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"
)

// uploadsEnv is the simulator on a clock the test moves, and the real
// client and stager talking to it over HTTP.
type uploadsEnv struct {
	t      *testing.T
	srv    *mapboxsim.Server
	clock  *clock.Manual
	client *mapbox.Client
	stager *staging.Stager
}

func newUploadsEnv(t *testing.T) *uploadsEnv {
	t.Helper()
	e := &uploadsEnv{t: t, clock: clock.NewManual(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	e.srv, _ = mapboxsim.StartMem(t, mapboxsim.Options{Username: "acme", Token: "sk.uploads-test-SECRET",
		ProcessingTime: time.Minute, Clock: e.clock})
	var err error
	if e.client, err = mapbox.New(mapbox.Options{BaseURL: e.srv.URL(), Username: "acme", Token: e.srv.Token()}); err != nil {
		t.Fatal(err)
	}
	if e.stager, err = staging.New(staging.Options{Endpoint: e.srv.Storage().Endpoint()}); err != nil {
		t.Fatal(err)
	}
	return e
}

// upload stages content and creates an upload of it to tileset.
func (e *uploadsEnv) upload(tileset, content string) mapbox.Upload {
	e.t.Helper()
	ctx := context.Background()
	cr, err := e.client.Credentials(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	path := filepath.Join(e.t.TempDir(), "data.geojson")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.stager.Stage(ctx, cr, path, nil, staging.Hooks{}); err != nil {
		e.t.Fatal(err)
	}
	u, err := e.client.Create(ctx, mapbox.CreateRequest{Tileset: tileset, URL: cr.URL})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// deleted reports which of the simulator's uploads are deleted, by ID.
func (e *uploadsEnv) deleted() map[string]bool {
	out := map[string]bool{}
	for _, r := range e.srv.Uploads() {
		out[r.ID] = r.Deleted
	}
	return out
}

// uploadsFixture is a history of uploads a cleanup judges: five created
// eight days ago (succeeded; failed; still processing; succeeded, but a
// job waits for its outcome; succeeded, to a tileset whose create answer
// a job lost), and one created a minute ago.
type uploadsFixture struct {
	ok, failed, processing, waited, creating, recent mapbox.Upload
	jobs                                             []state.Job
}

func (e *uploadsEnv) fixture() uploadsFixture {
	e.t.Helper()
	var f uploadsFixture
	f.ok = e.upload("acme.roads", "roads")
	e.srv.SetOutcome("acme.broken", "Tileset is empty.")
	f.failed = e.upload("acme.broken", "broken")
	e.srv.SetProcessingTime(30 * 24 * time.Hour)
	f.processing = e.upload("acme.huge", "huge")
	e.srv.SetProcessingTime(time.Minute)
	f.waited = e.upload("acme.parks", "parks")
	f.creating = e.upload("acme.rivers", "rivers")
	e.clock.Advance(8 * 24 * time.Hour)
	f.recent = e.upload("acme.fresh", "fresh")
	e.clock.Advance(time.Minute) // processed
	f.jobs = []state.Job{
		{ID: 7, Tileset: "acme.parks", Stage: state.StageProcessing, UploadID: f.waited.ID},
		{ID: 9, Tileset: "acme.rivers", Stage: state.StageStaged, CreateSentAt: time.Now()},
		{ID: 3, Tileset: "acme.roads", Stage: state.StageFailed, UploadID: f.ok.ID}, // waits for nothing
	}
	return f
}

func TestCleanCompleted(t *testing.T) {
	e := newUploadsEnv(t)
	f := e.fixture()
	ctx := context.Background()
	opts := CleanupOptions{OlderThan: 7 * 24 * time.Hour, InUse: InUse(f.jobs), PageSize: 2, DryRun: true}
	want := map[string]string{
		f.ok.ID:         "",
		f.failed.ID:     KeptFailed,
		f.processing.ID: KeptProcessing,
		f.waited.ID:     "tilesyncd still waits for its outcome (job #7)",
		f.creating.ID:   "tilesyncd is looking for an upload to its tileset whose answer was lost (job #9)",
	}
	check := func(removed []Removal) {
		t.Helper()
		if len(removed) != len(want) {
			t.Errorf("%d uploads judged, want the %d old ones: %+v", len(removed), len(want), removed)
		}
		for _, r := range removed {
			w, ok := want[r.Upload.ID]
			if !ok || r.Kept != w || r.Deleted != (w == "") || r.Err != nil {
				t.Errorf("upload %s (%s): deleted %v, kept %q, err %v; want kept %q", r.Upload.ID, r.Upload.Tileset, r.Deleted, r.Kept, r.Err, w)
			}
		}
	}

	lists := e.srv.Counts()[mapbox.EndpointList]
	removed, err := CleanCompleted(ctx, e.client, opts)
	if err != nil {
		t.Fatal(err)
	}
	check(removed)
	// Oldest first, 2 a page: the third page holds the recent upload, and ends the walk.
	if n := e.srv.Counts()[mapbox.EndpointList] - lists; n != 3 {
		t.Errorf("%d list requests, want 3", n)
	}
	if n := e.srv.Counts()[mapbox.EndpointDelete]; n != 0 {
		t.Fatalf("a dry run sent %d deletes", n)
	}

	opts.DryRun = false
	removed, err = CleanCompleted(ctx, e.client, opts)
	if err != nil {
		t.Fatal(err)
	}
	check(removed)
	gone := e.deleted()
	for id, kept := range want {
		if gone[id] != (kept == "") {
			t.Errorf("upload %s deleted at the simulator: %v, want %v", id, gone[id], kept == "")
		}
	}
	if gone[f.recent.ID] {
		t.Error("the recent upload was deleted")
	}
	if len(e.srv.Uploads()) != 6 {
		t.Errorf("the simulator holds %d uploads, want all 6 (a status goes, its upload's tileset stays)", len(e.srv.Uploads()))
	}
}

func TestDeleteUploads(t *testing.T) {
	e := newUploadsEnv(t)
	f := e.fixture()
	ids := []string{f.ok.ID, f.failed.ID, f.processing.ID, f.waited.ID, "no-such-upload", f.recent.ID}
	removed, err := DeleteUploads(context.Background(), e.client, ids, InUse(f.jobs))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range removed {
		got[r.Upload.ID] = fmt.Sprintf("deleted %v, kept %q, err %v", r.Deleted, r.Kept, r.Err)
	}
	want := map[string]string{
		f.ok.ID:          `deleted true, kept "", err <nil>`,
		f.failed.ID:      `deleted true, kept "", err <nil>`, // named by its ID: its status goes too
		f.processing.ID:  `deleted false, kept "still processing", err <nil>`,
		f.waited.ID:      `deleted false, kept "tilesyncd still waits for its outcome (job #7)", err <nil>`,
		"no-such-upload": `deleted false, kept "Mapbox knows no such upload", err <nil>`,
		f.recent.ID:      `deleted true, kept "", err <nil>`,
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s\nwant %s", id, got[id], w)
		}
	}
	if n := e.srv.Counts()[mapbox.EndpointDelete]; n != 3 {
		t.Errorf("%d delete requests, want 3 (nothing sent for a processing, needed or unknown upload)", n)
	}
}

// A cleanup stops at a failure that is not the upload's own, and says so.
func TestCleanCompletedStopsWhenTheAPIFails(t *testing.T) {
	e := newUploadsEnv(t)
	f := e.fixture()
	e.srv.FailNext(mapbox.EndpointDelete, 1, 503)
	removed, err := CleanCompleted(context.Background(), e.client, CleanupOptions{OlderThan: 7 * 24 * time.Hour, InUse: InUse(f.jobs)})
	if !errors.Is(err, mapbox.ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
	last := removed[len(removed)-1]
	if last.Upload.ID != f.ok.ID || last.Deleted || last.Err == nil || !strings.Contains(last.Err.Error(), "503") {
		t.Errorf("the last removal is %+v, want the failed delete of %s", last, f.ok.ID)
	}
	if e.deleted()[f.ok.ID] {
		t.Error("the status was deleted though the simulator failed the request")
	}
}
