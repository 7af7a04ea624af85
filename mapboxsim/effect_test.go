package mapboxsim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// fixture is a server on a manual clock with the production client.
type fixture struct {
	srv   *mapboxsim.Server
	store *mapboxsim.MemStorage
	clock *clock.Manual
	c     *mapbox.Client
}

func newFixture(t *testing.T, o mapboxsim.Options) *fixture {
	t.Helper()
	s, store, clock := newServer(t, o)
	c, err := mapbox.New(mapbox.Options{BaseURL: s.URL(), Username: s.Username(), Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: s, store: store, clock: clock, c: c}
}

// stage gets credentials and puts data at their key.
func (f *fixture) stage(t *testing.T, data []byte) mapbox.Credentials {
	t.Helper()
	cr, err := f.c.Credentials(context.Background())
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	_, err = stagingClient(f.store, cr).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(cr.Bucket), Key: aws.String(cr.Key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("stage: %v", err)
	}
	return cr
}

// create stages data and creates an upload of it to tileset.
func (f *fixture) create(t *testing.T, tileset string, data []byte) (mapbox.Upload, error) {
	t.Helper()
	cr := f.stage(t, data)
	return f.c.Create(context.Background(), mapbox.CreateRequest{Tileset: tileset, URL: cr.URL})
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestFailAfterNext checks that the create took effect although the client
// saw a 502, while FailNext still strikes before the create takes effect.
func TestFailAfterNext(t *testing.T) {
	f := newFixture(t, mapboxsim.Options{ProcessingTime: time.Second})
	f.srv.FailNext(mapbox.EndpointCreate, 1, http.StatusInternalServerError)
	if _, err := f.create(t, "alice.before", []byte("before")); !errors.Is(err, mapbox.ErrTransient) {
		t.Fatalf("create under FailNext: %v, want a 500", err)
	}
	if n := len(f.srv.Uploads()); n != 0 {
		t.Fatalf("FailNext let %d uploads be created", n)
	}

	f.srv.FailAfterNext(mapbox.EndpointCreate, 1, http.StatusBadGateway)
	data := []byte("after")
	_, err := f.create(t, "alice.after", data)
	var ae *mapbox.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || !errors.Is(err, mapbox.ErrTransient) {
		t.Fatalf("create under FailAfterNext: %v, want a 502", err)
	}
	recs := f.srv.Uploads()
	if len(recs) != 1 || recs[0].Tileset != "alice.after" || recs[0].SHA256 != sum(data) {
		t.Fatalf("records %+v: want the upload created despite the 502", recs)
	}
	list, err := f.c.List(context.Background(), mapbox.ListOptions{})
	if err != nil || len(list) != 1 || list[0].ID != recs[0].ID {
		t.Errorf("List: %v %+v, want the upload the client never heard of", err, list)
	}
	var statuses [][2]int
	for _, r := range f.srv.Requests() {
		if r.Endpoint == mapbox.EndpointCreate {
			statuses = append(statuses, [2]int{r.Status, r.RealStatus})
		}
	}
	if len(statuses) != 2 || statuses[0] != [2]int{500, 0} || statuses[1] != [2]int{502, 201} {
		t.Errorf("create log (status, real status) = %v, want [[500 0] [502 201]]", statuses)
	}
	// The fault is spent: the next create is answered for real.
	f.clock.Advance(time.Second)
	if _, err := f.create(t, "alice.after", []byte("again")); err != nil {
		t.Errorf("create after the fault: %v", err)
	}
}

// TestDropAfterNext checks that the upload exists and the credentials were
// minted although both answers were lost.
func TestDropAfterNext(t *testing.T) {
	f := newFixture(t, mapboxsim.Options{})
	ctx := context.Background()
	f.srv.DropAfterNext(mapbox.EndpointCredentials, 1)
	if _, err := f.c.Credentials(ctx); err == nil {
		t.Fatal("credentials answered under DropAfterNext")
	}
	cr := f.stage(t, []byte("lost answer"))
	f.srv.DropAfterNext(mapbox.EndpointCreate, 1)
	_, err := f.c.Create(ctx, mapbox.CreateRequest{Tileset: "alice.lost", URL: cr.URL})
	var ae *mapbox.APIError
	if !errors.As(err, &ae) || ae.Status != 0 || !errors.Is(err, mapbox.ErrTransient) {
		t.Fatalf("create under DropAfterNext: %v, want no answer", err)
	}
	if recs := f.srv.Uploads(); len(recs) != 1 || recs[0].Tileset != "alice.lost" || recs[0].Key != cr.Key {
		t.Errorf("records %+v: want the upload created despite the lost answer", recs)
	}
	var got []mapboxsim.Request
	for _, r := range f.srv.Requests() {
		if r.RealStatus != 0 {
			got = append(got, r)
		}
	}
	if len(got) != 2 || got[0].Endpoint != mapbox.EndpointCredentials || got[0].Status != 0 || got[0].RealStatus != 200 ||
		got[1].Endpoint != mapbox.EndpointCreate || got[1].Status != 0 || got[1].RealStatus != 201 {
		t.Errorf("requests served then dropped: %+v", got)
	}
}

// TestRateLimitFor checks a 429 window on an unlimited and on a limited
// server: every request refused until the server clock passes its end,
// with the rate-limit headers the client reads.
func TestRateLimitFor(t *testing.T) {
	for _, limit := range []int{0, 5} {
		f := newFixture(t, mapboxsim.Options{RateLimit: limit, RetryAfter: limit > 0})
		ctx := context.Background()
		f.srv.RateLimitFor(90 * time.Second)
		for i := range 3 {
			sent := time.Now()
			_, err := f.c.List(ctx, mapbox.ListOptions{})
			got := time.Now()
			var ae *mapbox.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
				t.Fatalf("limit %d, request %d in the window: %v, want 429", limit, i, err)
			}
			wantLimit := limit
			if limit == 0 {
				wantLimit = 30
			}
			end := epoch.Add(90 * time.Second)
			if rl := ae.RateLimit; rl.Limit != wantLimit || rl.Interval != time.Minute || !rl.Reset.Equal(end) {
				t.Errorf("limit %d: rate limit %+v, want %d per 1m resetting at %v", limit, rl, wantLimit, end)
			}
			// RetryAt is local: the rest of the window from when the answer came.
			wait := end.Sub(f.clock.Now())
			if at, ok := mapbox.RetryAt(err); !ok || at.Before(sent.Add(wait)) || at.After(got.Add(wait)) {
				t.Errorf("limit %d: RetryAt = %v %v, want %v from now", limit, at, ok, wait)
			}
			if limit > 0 && ae.RateLimit.RetryAfter.IsZero() {
				t.Errorf("limit %d: no Retry-After", limit)
			}
			f.clock.Advance(20 * time.Second)
		}
		f.clock.Advance(30 * time.Second)
		if _, err := f.c.List(ctx, mapbox.ListOptions{}); err != nil {
			t.Errorf("limit %d, after the window: %v", limit, err)
		}
	}
}

// TestDateIsTheServerClock checks that every answer, whatever made it,
// carries the server clock's Date, not the real clock's.
func TestDateIsTheServerClock(t *testing.T) {
	s, _, clock := newServer(t, mapboxsim.Options{})
	clock.Advance(1500 * time.Millisecond) // Date truncates to the second
	want := epoch.Add(time.Second).Format(http.TimeFormat)
	tok := s.Token()
	for _, tc := range []struct {
		name   string
		fault  func()
		path   string
		token  string
		status int
	}{
		{"200", nil, "/uploads/v1/alice", tok, 200},
		{"401", nil, "/uploads/v1/alice", "nope", 401},
		{"404", nil, "/styles/v1/alice", tok, 404},
		{"FailNext", func() { s.FailNext("", 1, 503) }, "/uploads/v1/alice", tok, 503},
		{"FailAfterNext", func() { s.FailAfterNext("", 1, 504) }, "/uploads/v1/alice", tok, 504},
		{"GarbleNext", func() { s.GarbleNext("", 1) }, "/uploads/v1/alice", tok, 200},
		{"RateLimitFor", func() { s.RateLimitFor(time.Minute) }, "/uploads/v1/alice", tok, 429},
	} {
		if tc.fault != nil {
			tc.fault()
		}
		status, h, _ := raw(t, s, "GET", tc.path, tc.token, "")
		if status != tc.status || h.Get("Date") != want {
			t.Errorf("%s: %d with Date %q, want %d with %q", tc.name, status, h.Get("Date"), tc.status, want)
		}
	}
	// Still in the window, which ends at 12:01:01.5: the reset is rounded up.
	_, h, _ := raw(t, s, "GET", "/uploads/v1/alice", tok, "")
	if got, want := h.Get("X-Rate-Limit-Reset"), strconv.FormatInt(epoch.Add(62*time.Second).Unix(), 10); got != want {
		t.Errorf("X-Rate-Limit-Reset %s, want %s", got, want)
	}
}
