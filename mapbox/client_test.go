package mapbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

var epoch = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// env is a test server on an in-process S3 store, its clock, and a client.
type env struct {
	srv    *mapboxsim.Server
	store  *mapboxsim.MemStorage
	clock  *clock.Manual
	client *mapbox.Client
}

func newEnv(t *testing.T, so mapboxsim.Options, co mapbox.Options) *env {
	t.Helper()
	e := &env{clock: clock.NewManual(epoch)}
	store, err := mapboxsim.NewMemStorage(mapboxsim.MemOptions{Dir: t.TempDir(), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.store = store
	so.Storage, so.Clock = store, e.clock
	if so.Username == "" {
		so.Username = "alice"
	}
	if so.ProcessingTime == 0 {
		so.ProcessingTime = 10 * time.Second
	}
	e.srv = mapboxsim.New(so)
	t.Cleanup(e.srv.Close)
	co.BaseURL, co.Username = e.srv.URL(), e.srv.Username()
	if co.Token == "" {
		co.Token = e.srv.Token()
	}
	e.client = newClient(t, co)
	return e
}

func newClient(t *testing.T, o mapbox.Options) *mapbox.Client {
	t.Helper()
	c, err := mapbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stage puts data at the credentials' key with the real S3 SDK.
func (e *env) stage(t testing.TB, cr mapbox.Credentials, data []byte) {
	t.Helper()
	cl := s3.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken),
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.store.Endpoint())
		o.UsePathStyle = true
	})
	_, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(cr.Bucket), Key: aws.String(cr.Key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("stage: %v", err)
	}
}

// createUpload gets credentials, stages data and creates an upload.
func (e *env) createUpload(t testing.TB, tileset string, data []byte) mapbox.Upload {
	t.Helper()
	ctx := context.Background()
	cr, err := e.client.Credentials(ctx)
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	e.stage(t, cr, data)
	u, err := e.client.Create(ctx, mapbox.CreateRequest{Tileset: tileset, URL: cr.URL, Name: "Test"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return u
}

func wantClass(t *testing.T, what string, err, class error) *mapbox.APIError {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("%s: error %v, want class %v", what, err, class)
	}
	var n int
	for _, c := range []error{mapbox.ErrUnauthorized, mapbox.ErrMissingScope, mapbox.ErrInvalid, mapbox.ErrNotFound,
		mapbox.ErrTilesetBusy, mapbox.ErrRateLimited, mapbox.ErrTransient, mapbox.ErrProcessing, mapbox.ErrCredentialsExpired} {
		if errors.Is(err, c) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s: error %v wraps %d error classes, want exactly 1", what, err, n)
	}
	var ae *mapbox.APIError
	errors.As(err, &ae)
	return ae
}

func TestPipeline(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	ctx := context.Background()
	data := []byte(`{"type":"FeatureCollection","features":[]}`)
	u := e.createUpload(t, "alice.parks", data)
	if u.Tileset != "alice.parks" || u.Complete || u.Progress != 0 || u.Error != nil || u.Owner != "alice" {
		t.Fatalf("created upload %+v", u)
	}
	e.clock.Advance(5 * time.Second)
	got, err := e.client.Upload(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Complete || got.Progress != 0.5 {
		t.Fatalf("halfway: complete %v progress %v, want false 0.5", got.Complete, got.Progress)
	}
	if err := e.client.Delete(ctx, u.ID); !errors.Is(err, mapbox.ErrTilesetBusy) {
		t.Fatalf("delete while processing: %v, want ErrTilesetBusy", err)
	}
	e.clock.Advance(5 * time.Second)
	got, err = e.client.Upload(ctx, u.ID)
	if err != nil || !got.Complete || got.Progress != 1 || got.Err() != nil {
		t.Fatalf("done: %+v, %v", got, err)
	}
	list, err := e.client.List(ctx, mapbox.ListOptions{Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != u.ID {
		t.Fatalf("List: %v, %+v", err, list)
	}
	if err := e.client.Delete(ctx, u.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = e.client.Upload(ctx, u.ID)
	wantClass(t, "status after delete", err, mapbox.ErrNotFound)

	recs := e.srv.Uploads()
	sum := sha256.Sum256(data)
	if len(recs) != 1 || recs[0].SHA256 != hex.EncodeToString(sum[:]) || recs[0].Size != int64(len(data)) || !recs[0].Deleted {
		t.Fatalf("server records %+v", recs)
	}
}

func TestCredentialsCacheBust(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	a, err := e.client.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.client.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a.Key == b.Key || a.AccessKeyID == b.AccessKeyID {
		t.Errorf("two credentials calls gave the same key %s", a.Key)
	}
	if !strings.HasPrefix(a.URL, "https://"+a.Bucket+".s3.amazonaws.com/") {
		t.Errorf("url %s is not in Mapbox's shape", a.URL)
	}
	var busts []string
	for _, r := range e.srv.Requests() {
		if r.Endpoint == mapbox.EndpointCredentials {
			busts = append(busts, r.Query.Get(mapbox.CacheBustParam))
		}
	}
	if len(busts) != 2 || busts[0] == "" || busts[0] == busts[1] {
		t.Errorf("cache-busting values %q: want two different ones", busts)
	}
}

func TestListOrderAndLimit(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{ProcessingTime: time.Second}, mapbox.Options{})
	ctx := context.Background()
	var ids []string
	for _, name := range []string{"a", "b", "c"} {
		ids = append(ids, e.createUpload(t, "alice."+name, []byte(name)).ID)
		e.clock.Advance(time.Second)
	}
	newest, err := e.client.List(ctx, mapbox.ListOptions{Limit: 2})
	if err != nil || len(newest) != 2 || newest[0].ID != ids[2] || newest[1].ID != ids[1] {
		t.Fatalf("List limit 2: %v %+v", err, newest)
	}
	oldest, err := e.client.List(ctx, mapbox.ListOptions{Reverse: true})
	if err != nil || len(oldest) != 3 || oldest[0].ID != ids[0] {
		t.Fatalf("List reverse: %v %+v", err, oldest)
	}
	_, err = e.client.List(ctx, mapbox.ListOptions{Limit: 101})
	wantClass(t, "limit 101", err, mapbox.ErrInvalid)
}

func TestProcessingFailures(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{ProcessingTime: time.Second}, mapbox.Options{})
	ctx := context.Background()
	e.srv.SetOutcome("alice.empty", "Tileset is empty.")
	big := []byte("too big, by content")
	sum := sha256.Sum256(big)
	e.srv.SetContentOutcome(hex.EncodeToString(sum[:]), "Tileset exceeds processing limit.")

	byTileset := e.createUpload(t, "alice.empty", []byte("x"))
	byContent := e.createUpload(t, "alice.other", big)
	cr, err := e.client.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := e.client.Create(ctx, mapbox.CreateRequest{Tileset: "alice.missing", URL: cr.URL}) // never staged
	if err != nil {
		t.Fatalf("create of an unstaged object: %v (Mapbox accepts it, then fails it)", err)
	}
	e.clock.Advance(time.Second)
	for _, tc := range []struct {
		id, msg string
	}{{byTileset.ID, "Tileset is empty."}, {byContent.ID, "Tileset exceeds processing limit."}, {missing.ID, mapboxsim.MissingObjectError}} {
		u, err := e.client.Upload(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if msg, failed := u.Failed(); !failed || msg != tc.msg || u.Complete {
			t.Errorf("upload %s: failed %v %q complete %v, want %q", tc.id, failed, msg, u.Complete, tc.msg)
		}
		if err := u.Err(); !errors.Is(err, mapbox.ErrProcessing) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Err() = %v, want ErrProcessing with %q", err, tc.msg)
		}
	}
}

func TestBusyTileset(t *testing.T) {
	for _, status := range []int{http.StatusConflict, http.StatusUnprocessableEntity} {
		e := newEnv(t, mapboxsim.Options{BusyStatus: status}, mapbox.Options{})
		e.createUpload(t, "alice.busy", []byte("one"))
		ctx := context.Background()
		cr, err := e.client.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.stage(t, cr, []byte("two"))
		_, err = e.client.Create(ctx, mapbox.CreateRequest{Tileset: "alice.busy", URL: cr.URL})
		if ae := wantClass(t, "second create", err, mapbox.ErrTilesetBusy); ae.Status != status {
			t.Errorf("status %d, want %d", ae.Status, status)
		}
		e.clock.Advance(10 * time.Second)
		if _, err := e.client.Create(ctx, mapbox.CreateRequest{Tileset: "alice.busy", URL: cr.URL}); err != nil {
			t.Fatalf("create once the first finished: %v", err)
		}
	}
}

func randomToken(t *testing.T) string {
	b := make([]byte, 12)
	rand.Read(b)
	return "sk.test" + hex.EncodeToString(b)
}
