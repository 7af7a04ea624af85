package mapboxsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestHolds follows what one tileset holds through successes, a processing
// failure, a missing object, a delete and an upload answered 502 after it
// took effect, with each record's Finished and Complete.
// It is long because it is one story told in order.
func TestHolds(t *testing.T) {
	f := newFixture(t, mapboxsim.Options{ProcessingTime: 10 * time.Second})
	ctx := context.Background()
	const ts = "alice.parks"
	holds := func(what, wantID string) {
		t.Helper()
		got, ok := f.srv.Holds(ts)
		switch {
		case wantID == "" && ok:
			t.Errorf("%s: Holds = %+v, want nothing", what, got)
		case wantID != "" && (!ok || got.ID != wantID || !got.Complete || got.Finished.IsZero()):
			t.Errorf("%s: Holds = %+v %v, want the completed upload %s", what, got, ok, wantID)
		}
	}
	record := func(id string) mapboxsim.UploadRecord {
		t.Helper()
		for _, r := range f.srv.Uploads() {
			if r.ID == id {
				return r
			}
		}
		t.Fatalf("no record of upload %s", id)
		return mapboxsim.UploadRecord{}
	}

	holds("before any upload", "")
	v1, err := f.create(t, ts, []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if r := record(v1.ID); !r.Finished.IsZero() || r.Complete {
		t.Errorf("processing: Finished %v Complete %v, want zero and false", r.Finished, r.Complete)
	}
	holds("while v1 processes", "")
	f.clock.Advance(10 * time.Second)
	holds("v1 done", v1.ID)
	if r := record(v1.ID); !r.Finished.Equal(epoch.Add(10*time.Second)) || !r.Complete {
		t.Errorf("v1: Finished %v Complete %v, want %v true", r.Finished, r.Complete, epoch.Add(10*time.Second))
	}

	f.clock.Advance(time.Second)
	v2, err := f.create(t, ts, []byte("v2"))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Second)
	holds("while v2 processes", v1.ID)
	f.clock.Advance(5 * time.Second)
	holds("v2 done", v2.ID)

	// A processing failure leaves the tileset as it was.
	f.srv.SetOutcome(ts, "Tileset is empty.")
	bad, err := f.create(t, ts, []byte("empty"))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Second)
	holds("after a failed upload", v2.ID)
	if r := record(bad.ID); r.Finished.IsZero() || r.Complete || r.Error == "" {
		t.Errorf("failed upload: %+v, want Finished set, not Complete, an Error", r)
	}
	f.srv.SetOutcome(ts, "")

	// A missing object fails at once: Finished is its creation.
	cr, err := f.c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := f.c.Create(ctx, mapbox.CreateRequest{Tileset: ts, URL: cr.URL})
	if err != nil {
		t.Fatal(err)
	}
	if r := record(missing.ID); !r.Finished.Equal(r.Created) || r.Complete {
		t.Errorf("missing object: Finished %v Created %v Complete %v, want Finished = Created, not Complete", r.Finished, r.Created, r.Complete)
	}
	holds("after a missing object", v2.ID)

	// Deleting the status does not change the tileset.
	if err := f.c.Delete(ctx, v2.ID); err != nil {
		t.Fatal(err)
	}
	holds("after deleting v2's status", v2.ID)

	// An upload the client saw fail with a 502 is what the tileset holds.
	f.srv.FailAfterNext(mapbox.EndpointCreate, 1, 502)
	if _, err := f.create(t, ts, []byte("v3")); err == nil {
		t.Fatal("create under FailAfterNext succeeded")
	}
	f.clock.Advance(10 * time.Second)
	recs := f.srv.Uploads()
	v3 := recs[len(recs)-1]
	holds("after a create answered 502", v3.ID)
	if v3.SHA256 != sum([]byte("v3")) {
		t.Errorf("v3 record %+v", v3)
	}
	if _, ok := f.srv.Holds("alice.other"); ok {
		t.Error("Holds of a tileset never uploaded to reports an upload")
	}
}
