package mapboxsim_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// mtsFixture is a server on a manual clock with the production client.
type mtsFixture struct {
	srv   *mapboxsim.Server
	clock *clock.Manual
	c     *mapbox.Client
}

// newMTS starts a server with o (its rate limits off unless o sets some).
func newMTS(t *testing.T, o mapboxsim.MTSOptions) *mtsFixture {
	t.Helper()
	if o.RateLimits == nil {
		o.Unlimited = true
	}
	s, _, clock := newServer(t, mapboxsim.Options{MTS: o})
	c, err := mapbox.New(mapbox.Options{BaseURL: s.URL(), Username: s.Username(), Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	return &mtsFixture{srv: s, clock: clock, c: c}
}

var bg = context.Background()

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// source replaces source id with content.
func (f *mtsFixture) source(t *testing.T, id, content string) {
	t.Helper()
	if _, err := f.c.ReplaceSource(bg, id, strings.NewReader(content)); err != nil {
		t.Fatalf("ReplaceSource %s: %v", id, err)
	}
}

// tileset creates tileset alice.{name} reading source src.
func (f *mtsFixture) tileset(t *testing.T, name, src string) string {
	t.Helper()
	id := "alice." + name
	err := f.c.CreateTileset(bg, id, mapbox.NewTileset{Name: name, Recipe: json.RawMessage(recipeOf(src, 0, 10))})
	if err != nil {
		t.Fatalf("CreateTileset %s: %v", id, err)
	}
	return id
}

func (f *mtsFixture) publish(t *testing.T, tileset string) string {
	t.Helper()
	p, err := f.c.Publish(bg, tileset)
	if err != nil {
		t.Fatalf("Publish %s: %v", tileset, err)
	}
	return p.JobID
}

func (f *mtsFixture) job(t *testing.T, tileset, id string) mapbox.Job {
	t.Helper()
	j, err := f.c.Job(bg, tileset, id)
	if err != nil {
		t.Fatalf("Job %s: %v", id, err)
	}
	return j
}

func (f *mtsFixture) wantStage(t *testing.T, tileset, id string, want mapbox.JobStage) mapbox.Job {
	t.Helper()
	j := f.job(t, tileset, id)
	if j.Stage != want {
		t.Fatalf("job %s: stage %s, want %s", id, j.Stage, want)
	}
	return j
}

func TestMTSJobLifecycle(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{QueueTime: time.Second, ProcessingTime: 10 * time.Second})
	a, b := features(1, 3), features(10, 2)
	f.source(t, "src", a)
	ts := f.tileset(t, "parks", "src")
	if _, ok := f.srv.HoldsMTS(ts); ok {
		t.Fatal("HoldsMTS before any publish")
	}
	j1 := f.publish(t, ts)
	f.wantStage(t, ts, j1, mapbox.JobQueued)
	f.clock.Advance(time.Second)
	if j := f.wantStage(t, ts, j1, mapbox.JobProcessing); j.Published == 0 || j.CU != 0 {
		t.Errorf("processing job %+v", j)
	}
	f.clock.Advance(10 * time.Second)
	j := f.wantStage(t, ts, j1, mapbox.JobSuccess)
	if j.CU <= 0 || j.Filesize <= 0 || !j.Published.Time().Equal(epoch.Add(11*time.Second)) || !j.Created.Time().Equal(epoch) ||
		len(j.LayerStats) == 0 || len(j.TilesetPrecisions) == 0 || j.Err() != nil {
		t.Errorf("finished job %+v", j)
	}
	f.source(t, "src", b)
	j2 := f.publish(t, ts)
	f.clock.Advance(time.Minute)
	f.wantStage(t, ts, j2, mapbox.JobSuccess)

	h := f.srv.MTSHistory(ts)
	if len(h) != 2 || h[0].ID != j1 || h[0].SHA256 != sumOf(a) || h[1].ID != j2 || h[1].SHA256 != sumOf(b) {
		t.Fatalf("history %+v, want j1 on a then j2 on b", h)
	}
	if h[0].Started != epoch.Add(time.Second) || h[0].Finished != epoch.Add(11*time.Second) || h[0].Inputs[0].Features != 3 {
		t.Errorf("record %+v", h[0])
	}
	if got, ok := f.srv.HoldsMTS(ts); !ok || got.ID != j2 {
		t.Errorf("HoldsMTS = %+v, %v; want j2", got, ok)
	}
	if n := f.srv.PublishCounts()[ts]; n != 2 {
		t.Errorf("PublishCounts = %d, want 2", n)
	}
	ups := f.srv.SourceUploads()
	if len(ups) != 2 || ups[1].SHA256 != sumOf(b) || ups[1].Append || ups[1].Features != 2 {
		t.Errorf("SourceUploads %+v", ups)
	}
}

// TestMTSSupersession: by default a newer full publish supersedes the
// queued one (which never runs); under FIFO every job runs in order.
func TestMTSSupersession(t *testing.T) {
	for _, fifo := range []bool{false, true} {
		f := newMTS(t, mapboxsim.MTSOptions{FIFO: fifo, QueueTime: time.Second, ProcessingTime: 10 * time.Second})
		f.source(t, "src", features(1, 1))
		ts := f.tileset(t, "parks", "src")
		j1 := f.publish(t, ts)
		f.clock.Advance(time.Second)
		j2 := f.publish(t, ts)
		j3 := f.publish(t, ts)
		if fifo {
			f.wantStage(t, ts, j2, mapbox.JobQueued)
		} else if j := f.wantStage(t, ts, j2, mapbox.JobSuperseded); len(j.Errors) != 0 {
			t.Errorf("superseded job %+v", j)
		}
		f.clock.Advance(10 * time.Minute)
		var ran []string
		for _, r := range f.srv.MTSHistory(ts) {
			ran = append(ran, r.ID)
		}
		want := []string{j1, j3}
		if fifo {
			want = []string{j1, j2, j3}
		}
		if strings.Join(ran, ",") != strings.Join(want, ",") {
			t.Errorf("fifo %v: ran %v, want %v", fifo, ran, want)
		}
	}
}

// TestMTSQueueLimit: at most MaxQueued jobs queued per account; a publish
// past it is refused with the chosen status.
func TestMTSQueueLimit(t *testing.T) {
	for _, tc := range []struct {
		status int
		class  error
	}{{0, mapbox.ErrTilesetBusy}, {409, mapbox.ErrTilesetBusy}, {429, mapbox.ErrRateLimited}} {
		f := newMTS(t, mapboxsim.MTSOptions{MaxQueued: 2, QueueFullStatus: tc.status, QueueTime: time.Minute})
		f.source(t, "src", features(1, 1))
		a, b, c := f.tileset(t, "a", "src"), f.tileset(t, "b", "src"), f.tileset(t, "c", "src")
		f.publish(t, a)
		f.publish(t, b)
		f.publish(t, a) // supersedes a's queued job: still 2 queued
		if _, err := f.c.Publish(bg, c); !errors.Is(err, tc.class) {
			t.Errorf("status %d: third queued job: %v, want %v", tc.status, err, tc.class)
		}
		if n := len(f.srv.MTSJobs()); n != 3 {
			t.Errorf("status %d: %d jobs made, want 3", tc.status, n)
		}
	}
}

// TestMTSSourceLock: modifying or deleting a source read by a processing
// job is 409, by a queued one only under LockQueued; a queued job reads
// the source as it is when it starts.
func TestMTSSourceLock(t *testing.T) {
	for _, lockQueued := range []bool{false, true} {
		f := newMTS(t, mapboxsim.MTSOptions{LockQueued: lockQueued, QueueTime: time.Second, ProcessingTime: 5 * time.Second})
		f.source(t, "src", features(1, 1))
		ts := f.tileset(t, "parks", "src")
		j := f.publish(t, ts)
		_, err := f.c.ReplaceSource(bg, "src", strings.NewReader(features(5, 2)))
		if lockQueued != (err != nil) || err != nil && !errors.Is(err, mapbox.ErrTilesetBusy) {
			t.Fatalf("lockQueued %v: replace while queued: %v", lockQueued, err)
		}
		f.clock.Advance(time.Second)
		_, err = f.c.AppendSource(bg, "src", strings.NewReader(features(9, 1)))
		var ae *mapbox.APIError
		if !errors.As(err, &ae) || ae.Status != 409 || ae.Message != mapboxsim.LockedMessage || !strings.Contains(err.Error(), "sources/alice/src") {
			t.Fatalf("append while processing: %v, want a 409 naming the source", err)
		}
		if err := f.c.DeleteSource(bg, "src"); !errors.Is(err, mapbox.ErrTilesetBusy) {
			t.Fatalf("delete while processing: %v", err)
		}
		f.clock.Advance(5 * time.Second)
		f.wantStage(t, ts, j, mapbox.JobSuccess)
		want := sumOf(features(1, 1))
		if !lockQueued {
			want = sumOf(features(5, 2))
		}
		if got, _ := f.srv.HoldsMTS(ts); got.SHA256 != want {
			t.Errorf("lockQueued %v: the job read %s, want %s", lockQueued, got.SHA256, want)
		}
		if err := f.c.DeleteSource(bg, "src"); err != nil {
			t.Errorf("delete after the job: %v", err)
		}
	}
}

func TestMTSOutcomes(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	good, warned := features(1, 2), features(7, 1)
	f.source(t, "good", good)
	f.source(t, "warned", warned)
	f.source(t, "empty", "")
	f.srv.SetJobOutcome("alice.failing", mapboxsim.JobOutcome{Errors: []string{"Tileset exceeds processing limit."}})
	f.srv.SetJobContentOutcome(sumOf(warned), mapboxsim.JobOutcome{Warnings: []string{"W201: 12 features dropped at z10 for tile size"}})
	jobs := map[string]string{}
	for ts, src := range map[string]string{"failing": "good", "warned": "warned", "empty": "empty"} {
		id := f.tileset(t, ts, src)
		jobs[id] = f.publish(t, id)
	}
	f.clock.Advance(time.Minute)
	j := f.wantStage(t, "alice.failing", jobs["alice.failing"], mapbox.JobFailed)
	if err := j.Err(); !errors.Is(err, mapbox.ErrProcessing) || !strings.Contains(err.Error(), "processing limit") {
		t.Errorf("failed job error %v", err)
	}
	j = f.wantStage(t, "alice.warned", jobs["alice.warned"], mapbox.JobSuccess)
	if codes := j.WarningCodes(); len(codes) != 1 || codes[0] != "W201" {
		t.Errorf("warnings %v, codes %v", j.Warnings, codes)
	}
	j = f.wantStage(t, "alice.empty", jobs["alice.empty"], mapbox.JobFailed)
	if len(j.Errors) != 1 || j.Errors[0] != mapboxsim.NoFeaturesError {
		t.Errorf("empty source: errors %v", j.Errors)
	}
	if _, ok := f.srv.HoldsMTS("alice.failing"); ok {
		t.Error("HoldsMTS of a tileset whose only job failed")
	}
}

// TestMTSStall: jobs stuck in queued start once released, not before.
func TestMTSStall(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{QueueTime: time.Second, ProcessingTime: 5 * time.Second})
	f.source(t, "src", features(1, 1))
	ts := f.tileset(t, "parks", "src")
	f.srv.StallJobs("", true)
	j := f.publish(t, ts)
	f.clock.Advance(time.Hour)
	f.wantStage(t, ts, j, mapbox.JobQueued)
	f.srv.StallJobs("", false)
	f.wantStage(t, ts, j, mapbox.JobProcessing)
	f.clock.Advance(5 * time.Second)
	f.wantStage(t, ts, j, mapbox.JobSuccess)
	if r, _ := f.srv.HoldsMTS(ts); r.Started != epoch.Add(time.Hour) {
		t.Errorf("started %v, want at the release %v", r.Started, epoch.Add(time.Hour))
	}
}

// TestMTSLateDeletes: a deleted source is still seen for a while, and an
// upload to it then keeps the old files (tilesets-cli#171).
func TestMTSLateDeletes(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	f.source(t, "src", features(1, 1))
	f.source(t, "other", features(1, 1))
	f.srv.SetLateDeletes(30 * time.Second)
	if err := f.c.DeleteSource(bg, "src"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.DeleteSource(bg, "other"); err != nil {
		t.Fatal(err)
	}
	if s, err := f.c.Source(bg, "src"); err != nil || s.Files != 1 {
		t.Fatalf("just deleted: %+v, %v; want still seen", s, err)
	}
	info, err := f.c.AppendSource(bg, "src", strings.NewReader(features(2, 1)))
	if err != nil || info.Files != 2 {
		t.Fatalf("append after the delete: %+v, %v; want the old file counted", info, err)
	}
	f.clock.Advance(30 * time.Second)
	if _, err := f.c.Source(bg, "other"); !errors.Is(err, mapbox.ErrNotFound) {
		t.Errorf("30 s after the delete: %v, want ErrNotFound", err)
	}
}

// TestMTSDropMidUpload: the connection is reset once part of the body was
// read; nothing is stored.
func TestMTSDropMidUpload(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	f.srv.DropMidUpload(mapbox.EndpointSourceReplace, 1, 100)
	_, err := f.c.ReplaceSource(bg, "src", strings.NewReader(features(1, 500)))
	if !errors.Is(err, mapbox.ErrTransient) || mapbox.NotSent(err) {
		t.Fatalf("dropped upload: %v, want transient, maybe sent", err)
	}
	if n := len(f.srv.SourceUploads()); n != 0 {
		t.Fatalf("%d uploads stored", n)
	}
	if got := f.srv.StatusCounts()[mapbox.EndpointSourceReplace][0]; got != 1 {
		t.Errorf("request log: %d dropped source-replace, want 1", got)
	}
	f.source(t, "src", features(1, 500))
}

// TestMTSRateLimitFor: a 429 window on one endpoint only.
func TestMTSRateLimitFor(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{RateLimits: map[mapbox.Endpoint]int{}})
	f.source(t, "src", features(1, 1))
	ts := f.tileset(t, "parks", "src")
	f.srv.RateLimitMTSFor(mapbox.EndpointPublish, 10*time.Second)
	_, err := f.c.Publish(bg, ts)
	at, ok := mapbox.RetryAt(err)
	if !errors.Is(err, mapbox.ErrRateLimited) || !ok || time.Until(at) < 8*time.Second || time.Until(at) > 12*time.Second {
		t.Fatalf("publish in the window: %v (retry at %v), want 429 for 10 s", err, at)
	}
	if _, err := f.c.Source(bg, "src"); err != nil {
		t.Fatalf("another endpoint: %v", err)
	}
	f.clock.Advance(10 * time.Second)
	f.publish(t, ts)
}
