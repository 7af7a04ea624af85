package mapboxsim_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

const incRecipe = `{"version":1,"incremental":true,"layers":{"parcels":{"source":"mapbox://tileset-source/alice/src","minzoom":0,"maxzoom":12}}}`

// initial makes alice.inc from an incremental recipe and runs its initial
// publish to success.
func (f *mtsFixture) initial(t *testing.T) string {
	t.Helper()
	f.source(t, "src", features(1, 3))
	if err := f.c.CreateTileset(bg, "alice.inc", mapbox.NewTileset{Name: "inc", Recipe: json.RawMessage(incRecipe)}); err != nil {
		t.Fatal(err)
	}
	p, err := f.c.Publish(bg, "alice.inc")
	if err != nil || p.Incremental != "initial" {
		t.Fatalf("initial publish: %+v, %v", p, err)
	}
	f.clock.Advance(time.Minute)
	f.wantStage(t, "alice.inc", p.JobID, mapbox.JobSuccess)
	return p.JobID
}

func TestMTSChangesetFlow(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	f.initial(t)
	changes := feature(2) + "\n" + `{"id":3,"delete":true}` + "\n"
	info, err := f.c.ReplaceChangeset(bg, "ch", strings.NewReader(changes))
	if err != nil || info.ID != "mapbox://tileset-changeset/alice/ch" || info.Files != 1 || info.FileSize != int64(len(changes)) {
		t.Fatalf("ReplaceChangeset: %+v, %v", info, err)
	}
	if cs, err := f.c.Changeset(bg, "ch"); err != nil || cs.Size != int64(len(changes)) {
		t.Fatalf("Changeset: %+v, %v", cs, err)
	}
	p, err := f.c.PublishChangesets(bg, "alice.inc", map[string]string{"parcels": "ch"})
	if err != nil || p.JobID == "" {
		t.Fatalf("PublishChangesets: %+v, %v", p, err)
	}
	f.clock.Advance(time.Minute)
	f.wantStage(t, "alice.inc", p.JobID, mapbox.JobSuccess)
	held, _ := f.srv.HoldsMTS("alice.inc")
	if !held.Changesets || held.SHA256 != sumOf(changes) || held.Inputs[0].URI != info.ID || held.Inputs[0].Features != 2 {
		t.Errorf("HoldsMTS after the changeset job: %+v", held)
	}
	again, err := f.c.Publish(bg, "alice.inc")
	if err != nil || again.Incremental != "reset" {
		t.Errorf("later full publish: %+v, %v; want incremental reset", again, err)
	}
}

// TestMTSChangesetRefusals walks section 2's 400, 404 and 422 cases and
// the line checks of a changeset.
func TestMTSChangesetRefusals(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	f.source(t, "plain-src", features(1, 1))
	plain := f.tileset(t, "plain", "plain-src")
	if _, err := f.c.ReplaceChangeset(bg, "noid", strings.NewReader(`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]}}`+"\n")); !errors.Is(err, mapbox.ErrInvalid) ||
		!strings.Contains(err.Error(), "needs an id") {
		t.Errorf("changeset feature without id: %v", err)
	}
	if _, err := f.c.ReplaceChangeset(bg, "baddel", strings.NewReader(`{"id":3,"delete":"yes"}`+"\n")); !errors.Is(err, mapbox.ErrInvalid) {
		t.Errorf("deletion not literally true: %v", err)
	}
	if _, err := f.c.ReplaceChangeset(bg, "empty", strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ReplaceChangeset(bg, "ch", strings.NewReader(feature(9)+"\n")); err != nil {
		t.Fatal(err)
	}
	status := func(err error) int {
		var ae *mapbox.APIError
		if !errors.As(err, &ae) {
			return 0
		}
		return ae.Status
	}
	try := func(ts string, layers map[string]string) int {
		_, err := f.c.PublishChangesets(bg, ts, layers)
		return status(err)
	}
	if got := try("alice.nope", map[string]string{"parcels": "ch"}); got != 400 {
		t.Errorf("missing tileset: %d, want 400", got)
	}
	if got := try(plain, map[string]string{"parcels": "ch"}); got != 404 {
		t.Errorf("not incremental: %d, want 404", got)
	}
	if err := f.c.CreateTileset(bg, "alice.inc", mapbox.NewTileset{Name: "inc", Recipe: json.RawMessage(incRecipe)}); err != nil {
		t.Fatal(err)
	}
	f.source(t, "src", features(1, 1))
	if got := try("alice.inc", map[string]string{"parcels": "ch"}); got != 404 {
		t.Errorf("never published: %d, want 404", got)
	}
	j := f.publish(t, "alice.inc")
	f.clock.Advance(time.Minute)
	f.wantStage(t, "alice.inc", j, mapbox.JobSuccess)
	for _, tc := range []struct {
		name   string
		layers map[string]string
		want   int
	}{
		{"layer not in the recipe", map[string]string{"roads": "ch"}, 400},
		{"changeset missing", map[string]string{"parcels": "none"}, 400},
		{"every changeset empty", map[string]string{"parcels": "empty"}, 422},
	} {
		if got := try("alice.inc", tc.layers); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	for _, body := range []string{`{}`, `{"layers":[]}`, `{"layers":{"parcels":{}}}`} {
		x := send(t, f.srv, "POST", "/tilesets/v1/alice.inc/publish-changesets", f.srv.Token(), "", body)
		if x.status != 400 {
			t.Errorf("payload %s: %d, want 400", body, x.status)
		}
	}
	changed := strings.Replace(incRecipe, `"maxzoom":12`, `"maxzoom":13`, 1)
	if err := f.c.UpdateRecipe(bg, "alice.inc", json.RawMessage(changed)); err != nil {
		t.Fatal(err)
	}
	if got := try("alice.inc", map[string]string{"parcels": "ch"}); got != 400 {
		t.Errorf("recipe changed since the initial publish: %d, want 400", got)
	}
}

// TestMTSChangesetDeleteFailsJobs: deleting a changeset fails the jobs
// that use it; deleting a tileset fails its jobs.
func TestMTSChangesetDeleteFailsJobs(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{})
	f.initial(t)
	f.srv.SetJobTiming(0, time.Hour)
	if _, err := f.c.ReplaceChangeset(bg, "ch", strings.NewReader(feature(9)+"\n")); err != nil {
		t.Fatal(err)
	}
	p, err := f.c.PublishChangesets(bg, "alice.inc", map[string]string{"parcels": "ch"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.wantStage(t, "alice.inc", p.JobID, mapbox.JobProcessing)
	if err := f.c.DeleteChangeset(bg, "ch"); err != nil {
		t.Fatal(err)
	}
	if j := f.wantStage(t, "alice.inc", p.JobID, mapbox.JobFailed); !strings.Contains(strings.Join(j.Errors, " "), "deleted") {
		t.Errorf("errors %v", j.Errors)
	}
	full := f.publish(t, "alice.inc")
	if err := f.c.DeleteTileset(bg, "alice.inc"); err != nil {
		t.Fatal(err)
	}
	rec := f.srv.MTSJobs()
	if last := rec[len(rec)-1]; last.ID != full || last.Stage != mapbox.JobFailed {
		t.Errorf("job of a deleted tileset: %+v", last)
	}
	if _, err := f.c.Job(bg, "alice.inc", full); !errors.Is(err, mapbox.ErrNotFound) {
		t.Errorf("job of a deleted tileset: %v, want ErrNotFound", err)
	}
}

func TestMTSIncrementalDisabled(t *testing.T) {
	f := newMTS(t, mapboxsim.MTSOptions{IncrementalDisabled: true})
	_, err := f.c.ReplaceChangeset(bg, "ch", strings.NewReader(feature(1)+"\n"))
	if !errors.Is(err, mapbox.ErrUnauthorized) || !strings.Contains(err.Error(), "Incremental Update") {
		t.Errorf("changeset upload: %v", err)
	}
	if _, err := f.c.PublishChangesets(bg, "alice.inc", map[string]string{"parcels": "ch"}); !errors.Is(err, mapbox.ErrUnauthorized) {
		t.Errorf("publish-changesets: %v", err)
	}
}

// TestMTSUploadsTileset: a tileset the Uploads API made exists for create,
// and refuses the MTS calls on it.
func TestMTSUploadsTileset(t *testing.T) {
	f := newFixture(t, mapboxsim.Options{ProcessingTime: time.Second})
	if _, err := f.create(t, "alice.legacy", []byte("x")); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	err := f.c.CreateTileset(bg, "alice.legacy", mapbox.NewTileset{Name: "l", Recipe: json.RawMessage(recipeOf("s", 0, 1))})
	if !errors.Is(err, mapbox.ErrInvalid) || !strings.Contains(err.Error(), "exists") {
		t.Errorf("create over an Uploads tileset: %v", err)
	}
	_, err = f.c.Publish(bg, "alice.legacy")
	if !errors.Is(err, mapbox.ErrInvalid) || !strings.Contains(err.Error(), "was not created with the /tilesets/v1 endpoint") {
		t.Errorf("publish an Uploads tileset: %v", err)
	}
}

// TestMTSUploadLimits: over a file, size or count limit, the answer
// carries "error", with a 4xx or a 200.
func TestMTSUploadLimits(t *testing.T) {
	for _, status := range []int{0, http.StatusOK} {
		f := newMTS(t, mapboxsim.MTSOptions{MaxFileSize: 200, MaxSourceSize: 300, MaxFiles: 2, OverLimitStatus: status})
		for _, tc := range []struct {
			name, data string
			append     bool
			ok         bool
		}{
			{"a file over MaxFileSize", features(1, 3), false, false},
			{"a file under it", features(1, 1), false, true},
			{"a second", features(1, 1), true, true},
			{"a third, past MaxFiles", features(1, 1), true, false},
			{"replace resets the count", features(1, 2), false, true},
			{"past MaxSourceSize", features(1, 2), true, false},
		} {
			var err error
			if tc.append {
				_, err = f.c.AppendSource(bg, "src", strings.NewReader(tc.data))
			} else {
				_, err = f.c.ReplaceSource(bg, "src", strings.NewReader(tc.data))
			}
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, mapbox.ErrInvalid) {
				t.Errorf("status %d: %s: %v", status, tc.name, err)
			}
		}
		if n := len(f.srv.SourceUploads()); n != 3 {
			t.Errorf("status %d: %d uploads stored, want 3", status, n)
		}
	}
}
