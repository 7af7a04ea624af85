package mapboxsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

var epoch = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newServer(t *testing.T, o mapboxsim.Options) (*mapboxsim.Server, *mapboxsim.MemStorage, *clock.Manual) {
	t.Helper()
	clock := clock.NewManual(epoch)
	store := newMemStorage(t, mapboxsim.MemOptions{Clock: clock})
	o.Storage, o.Clock = store, clock
	if o.Username == "" {
		o.Username = "alice"
	}
	s := mapboxsim.New(o)
	t.Cleanup(s.Close)
	return s, store, clock
}

// raw sends a request with the given token and returns status, headers and
// the decoded {"message"} if any.
func raw(t *testing.T, s *mapboxsim.Server, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	url := s.URL() + path
	if token != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		url += sep + "access_token=" + token
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m struct{ Message string }
	json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m.Message
}

func TestServerRequestChecks(t *testing.T) {
	s, _, _ := newServer(t, mapboxsim.Options{RateLimit: 100})
	tok := s.Token()
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		msg                             string
	}{
		{"no token", "GET", "/uploads/v1/alice", "", "", 401, "Not Authorized - No Token"},
		{"bad token", "GET", "/uploads/v1/alice", "nope", "", 401, "Not Authorized - Invalid Token"},
		{"other account", "GET", "/uploads/v1/bob", tok, "", 401, "Not Authorized - Invalid Token"},
		{"unknown path", "GET", "/styles/v1/alice", tok, "", 404, "Not Found"},
		{"invalid JSON", "POST", "/uploads/v1/alice", tok, "{", 422, "Invalid JSON in request body"},
		{"unknown property", "POST", "/uploads/v1/alice", tok, `{"tileset":"alice.a","url":"https://x","private":true}`, 422, `Unknown property "private"`},
		{"dataset url", "POST", "/uploads/v1/alice", tok, `{"tileset":"alice.a","url":"mapbox://datasets/alice/abc"}`, 422, "not supported"},
		{"limit over 100", "GET", "/uploads/v1/alice?limit=101", tok, "", 422, "between 1 and 100"},
		{"list", "GET", "/uploads/v1/alice?limit=5&reverse=true", tok, "", 200, ""},
	} {
		status, h, msg := raw(t, s, tc.method, tc.path, tc.token, tc.body)
		if status != tc.status || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, msg, tc.status, tc.msg)
		}
		authenticated := tc.token == tok && tc.name != "unknown path" // a valid token counts, whatever the path's account
		if got := h.Get("X-Rate-Limit-Limit") != ""; got != authenticated {
			t.Errorf("%s: rate-limit headers present %v, want %v", tc.name, got, authenticated)
		}
	}
	for _, r := range s.Requests() {
		if r.Query.Has("access_token") {
			t.Errorf("request log keeps the token: %+v", r)
		}
	}
	if got := s.Counts()[mapbox.EndpointCreate]; got != 3 {
		t.Errorf("Counts()[create] = %d, want 3", got)
	}
}

// stagingClient is an S3 client with the credentials of one staging key.
func stagingClient(store *mapboxsim.MemStorage, cr mapbox.Credentials) *s3.Client {
	return s3Client(store, minted{cr.Key, cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken}, aws.RequestChecksumCalculationWhenSupported)
}

func TestServerCorruptAndExpiredCredentials(t *testing.T) {
	s, store, clock := newServer(t, mapboxsim.Options{CredentialLifetime: 15 * time.Minute})
	c, err := mapbox.New(mapbox.Options{BaseURL: s.URL(), Username: "alice", Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put := func(cr mapbox.Credentials) error {
		_, err := stagingClient(store, cr).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(cr.Bucket), Key: aws.String(cr.Key), Body: strings.NewReader("x")})
		return err
	}
	s.CorruptNextCredentials(1)
	bad, err := c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code := errorCode(put(bad)); code != "InvalidToken" {
		t.Errorf("corrupt credentials: code %q, want InvalidToken", code)
	}
	good, err := c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(good); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	clock.Advance(15 * time.Minute)
	if code := errorCode(put(good)); code != "ExpiredToken" {
		t.Errorf("after the lifetime: code %q, want ExpiredToken", code)
	}
}

func TestStartMemAndExpireCredentials(t *testing.T) {
	s, store := mapboxsim.StartMem(t, mapboxsim.Options{Username: "carol"})
	c, err := mapbox.New(mapbox.Options{BaseURL: s.URL(), Username: "carol", Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cr, err := c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store.ExpireCredentials()
	_, err = stagingClient(store, cr).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(cr.Bucket), Key: aws.String(cr.Key), Body: strings.NewReader("x")})
	if code := errorCode(err); code != "ExpiredToken" {
		t.Errorf("after ExpireCredentials: code %q (%v), want ExpiredToken", code, err)
	}
	fresh, err := c.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stagingClient(store, fresh).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(fresh.Bucket), Key: aws.String(fresh.Key), Body: strings.NewReader("x")})
	if err != nil {
		t.Errorf("fresh credentials: %v", err)
	}
}

func TestServerFaultsPerEndpoint(t *testing.T) {
	s, _, _ := newServer(t, mapboxsim.Options{})
	c, err := mapbox.New(mapbox.Options{BaseURL: s.URL(), Username: "alice", Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.FailNext(mapbox.EndpointCredentials, 2, 502)
	if _, err := c.List(ctx, mapbox.ListOptions{}); err != nil {
		t.Fatalf("list is not targeted: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.Credentials(ctx); !errors.Is(err, mapbox.ErrTransient) {
			t.Fatalf("credentials %d: %v, want a 502", i+1, err)
		}
	}
	if _, err := c.Credentials(ctx); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
	if got := s.StatusCounts()[mapbox.EndpointCredentials]; got[502] != 2 || got[200] != 1 {
		t.Errorf("credentials statuses %v", got)
	}
}

// TestServerExactlyOnceRecord runs uploads from several goroutines (for the
// race detector) and checks the server's record of what was uploaded.
func TestServerExactlyOnceRecord(t *testing.T) {
	s, store, clock := newServer(t, mapboxsim.Options{ProcessingTime: time.Second})
	c, err := mapbox.New(mapbox.Options{BaseURL: s.URL(), Username: "alice", Token: s.Token()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			cr, err := c.Credentials(ctx)
			if err != nil {
				errs <- err
				return
			}
			_, err = stagingClient(store, cr).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(cr.Bucket), Key: aws.String(cr.Key),
				Body: bytes.NewReader([]byte(fmt.Sprintf("file %d", i)))})
			if err != nil {
				errs <- err
				return
			}
			_, err = c.Create(ctx, mapbox.CreateRequest{Tileset: fmt.Sprintf("alice.t%d", i), URL: cr.URL})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Second)
	seen := map[string]bool{}
	for _, u := range s.Uploads() {
		if seen[u.SHA256] || u.SHA256 == "" || u.Error != "" {
			t.Errorf("record %+v: duplicate or missing content", u)
		}
		seen[u.SHA256] = true
	}
	list, err := c.List(ctx, mapbox.ListOptions{Limit: 100})
	if err != nil || len(seen) != n || len(list) != n {
		t.Fatalf("%d distinct uploads recorded, %d listed (%v), want %d", len(seen), len(list), err, n)
	}
	for _, u := range list {
		if !u.Complete {
			t.Errorf("upload %s not complete after the processing time", u.ID)
		}
	}
}
