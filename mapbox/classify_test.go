package mapbox_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

func TestAuthAndScopeErrors(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	ctx := context.Background()
	e.srv.AddToken("pk.read-only", mapboxsim.ScopeRead)
	e.srv.AddToken("pk.write-only", mapboxsim.ScopeWrite)
	e.srv.AddAccountToken("bob", "pk.bob", mapboxsim.ScopeWrite, mapboxsim.ScopeRead, mapboxsim.ScopeList)
	u := e.createUpload(t, "alice.scopes", []byte("x"))

	client := func(token string) *mapbox.Client {
		return newClient(t, mapbox.Options{BaseURL: e.srv.URL(), Username: "alice", Token: token})
	}
	bad := client("pk.not-a-token")
	_, err := bad.Credentials(ctx)
	if ae := wantClass(t, "bad token", err, mapbox.ErrUnauthorized); ae.Status != 401 || ae.Message == "" {
		t.Errorf("bad token: %+v", ae)
	}
	_, err = client("pk.bob").List(ctx, mapbox.ListOptions{})
	wantClass(t, "another account's token", err, mapbox.ErrUnauthorized)

	_, err = client("pk.read-only").Credentials(ctx)
	ae := wantClass(t, "credentials without uploads:write", err, mapbox.ErrMissingScope)
	if ae.Status != 404 || !strings.Contains(err.Error(), "token lacks the uploads:write scope") {
		t.Errorf("missing scope error %q (status %d)", err, ae.Status)
	}
	_, err = client("pk.write-only").List(ctx, mapbox.ListOptions{})
	wantClass(t, "list without uploads:list", err, mapbox.ErrMissingScope)
	if _, err := client("pk.read-only").Upload(ctx, u.ID); err != nil {
		t.Errorf("status with uploads:read: %v", err)
	}
	_, err = client("pk.write-only").Upload(ctx, u.ID)
	wantClass(t, "status without uploads:read", err, mapbox.ErrNotFound)
	_, err = e.client.Upload(ctx, "no-such-upload")
	wantClass(t, "unknown upload", err, mapbox.ErrNotFound)
	err = e.client.Delete(ctx, "no-such-upload")
	wantClass(t, "delete unknown upload", err, mapbox.ErrNotFound)
}

func TestCreateInvalid(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	ctx := context.Background()
	cr, err := e.client.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.stage(t, cr, []byte("x"))
	for _, tc := range []struct {
		name string
		req  mapbox.CreateRequest
		msg  string
	}{
		{"bad tileset ID", mapbox.CreateRequest{Tileset: "alice.has space", URL: cr.URL}, "Invalid tileset ID"},
		{"name part over 32", mapbox.CreateRequest{Tileset: "alice." + strings.Repeat("a", 33), URL: cr.URL}, "Invalid tileset ID"},
		{"another owner", mapbox.CreateRequest{Tileset: "bob.parks", URL: cr.URL}, "owner must be alice"},
		{"name over 64", mapbox.CreateRequest{Tileset: "alice.parks", URL: cr.URL, Name: strings.Repeat("n", 65)}, "at most 64"},
		{"url outside the bucket", mapbox.CreateRequest{Tileset: "alice.parks", URL: "https://example.com/file.geojson"}, "staging bucket"},
		{"no url", mapbox.CreateRequest{Tileset: "alice.parks"}, `Missing property "url"`},
	} {
		_, err := e.client.Create(ctx, tc.req)
		ae := wantClass(t, tc.name, err, mapbox.ErrInvalid)
		if ae.Status != http.StatusUnprocessableEntity || !strings.Contains(ae.Message, tc.msg) {
			t.Errorf("%s: status %d message %q, want 422 with %q", tc.name, ae.Status, ae.Message, tc.msg)
		}
	}
	if n := len(e.srv.Uploads()); n != 0 {
		t.Errorf("%d uploads created by invalid requests", n)
	}
}

func TestRateLimited(t *testing.T) {
	for _, sliding := range []bool{false, true} {
		e := newEnv(t, mapboxsim.Options{RateLimit: 3, RateWindow: time.Minute, SlidingWindow: sliding, RetryAfter: sliding},
			mapbox.Options{})
		ctx := context.Background()
		var seen []mapbox.RateLimit
		c := newClient(t, mapbox.Options{BaseURL: e.srv.URL(), Username: "alice", Token: e.srv.Token(),
			Observe: func(x mapbox.Exchange) { seen = append(seen, x.RateLimit) }})
		for i := 0; i < 3; i++ {
			if _, err := c.List(ctx, mapbox.ListOptions{}); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
			e.clock.Advance(10 * time.Second)
		}
		_, err := c.List(ctx, mapbox.ListOptions{})
		ae := wantClass(t, "fourth request", err, mapbox.ErrRateLimited)
		reset := epoch.Add(time.Minute)
		if ae.Status != 429 || ae.RateLimit.Limit != 3 || ae.RateLimit.Interval != time.Minute || !ae.RateLimit.Reset.Equal(reset) {
			t.Errorf("429: status %d rate limit %+v, want limit 3 per 1m resetting at %v", ae.Status, ae.RateLimit, reset)
		}
		at, ok := mapbox.RetryAt(err)
		if !ok || at.Before(reset) {
			t.Errorf("RetryAt = %v %v, want at least %v", at, ok, reset)
		}
		if sliding && ae.RateLimit.RetryAfter.IsZero() {
			t.Error("Retry-After not parsed")
		}
		for i, rl := range seen[:3] {
			if rl.Limit != 3 || !rl.Reset.Equal(reset) {
				t.Errorf("answer %d: rate limit %+v", i+1, rl)
			}
		}
		e.clock.Advance(30 * time.Second) // the window has passed
		if _, err := c.List(ctx, mapbox.ListOptions{}); err != nil {
			t.Errorf("after the reset: %v", err)
		}
		if got := e.srv.StatusCounts()[mapbox.EndpointList][429]; got != 1 {
			t.Errorf("server counted %d 429s, want 1", got)
		}
	}
	if _, ok := mapbox.RetryAt(mapbox.ErrTransient); ok {
		t.Error("RetryAt of a non-429 error reports a time")
	}
}

func TestTransientFailures(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	ctx := context.Background()

	e.srv.FailNext("", 1, http.StatusServiceUnavailable)
	_, err := e.client.Credentials(ctx)
	if ae := wantClass(t, "503", err, mapbox.ErrTransient); ae.Status != 503 {
		t.Errorf("503: status %d", ae.Status)
	}
	e.srv.DropNext(mapbox.EndpointCredentials, 1)
	_, err = e.client.Credentials(ctx)
	if ae := wantClass(t, "dropped connection", err, mapbox.ErrTransient); ae.Status != 0 {
		t.Errorf("dropped: status %d", ae.Status)
	}
	e.srv.SetUnreachable(true)
	_, err = e.client.List(ctx, mapbox.ListOptions{})
	wantClass(t, "unreachable", err, mapbox.ErrTransient)
	e.srv.SetUnreachable(false)

	e.srv.SetDelay(5 * time.Second)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = e.client.List(short, mapbox.ListOptions{})
	cancel()
	wantClass(t, "timeout", err, mapbox.ErrTransient)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout error %v does not match context.DeadlineExceeded", err)
	}
	e.srv.SetDelay(0)

	var observed []mapbox.Exchange
	observing := newClient(t, mapbox.Options{BaseURL: e.srv.URL(), Username: "alice", Token: e.srv.Token(),
		Observe: func(x mapbox.Exchange) { observed = append(observed, x) }})
	e.srv.GarbleNext(mapbox.EndpointStatus, 1)
	_, err = observing.Upload(ctx, "any")
	if ae := wantClass(t, "garbled 200", err, mapbox.ErrTransient); ae.Status != 200 {
		t.Errorf("garbled: status %d", ae.Status)
	}
	if len(observed) != 1 || observed[0].Status != 200 || !errors.Is(observed[0].Err, mapbox.ErrTransient) {
		t.Errorf("garbled answer observed as %+v", observed)
	}

	closed := closedPortURL(t)
	c := newClient(t, mapbox.Options{BaseURL: closed, Username: "alice", Token: "pk.x"})
	_, err = c.Credentials(ctx)
	wantClass(t, "refused connection", err, mapbox.ErrTransient)

	if _, err := e.client.Credentials(ctx); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

func TestFailureRate(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	e.srv.SetFailureRate(0.5, http.StatusBadGateway, 7)
	var failed int
	for i := 0; i < 40; i++ {
		if _, err := e.client.List(context.Background(), mapbox.ListOptions{}); err != nil {
			wantClass(t, "random 502", err, mapbox.ErrTransient)
			failed++
		}
	}
	if failed < 5 || failed > 35 {
		t.Errorf("%d of 40 failed at rate 0.5", failed)
	}
}

func TestGateAndObserve(t *testing.T) {
	refuse := errors.New("limiter closed")
	var gated []mapbox.Endpoint
	var exchanges []mapbox.Exchange
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{
		Gate: func(ctx context.Context, ep mapbox.Endpoint) error {
			gated = append(gated, ep)
			if ep == mapbox.EndpointDelete {
				return refuse
			}
			return nil
		},
		Observe: func(x mapbox.Exchange) { exchanges = append(exchanges, x) },
	})
	ctx := context.Background()
	if _, err := e.client.List(ctx, mapbox.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Upload(ctx, "nope")
	wantClass(t, "status", err, mapbox.ErrNotFound)
	err = e.client.Delete(ctx, "nope")
	if !errors.Is(err, refuse) {
		t.Fatalf("gate refusal: %v", err)
	}
	wantClass(t, "gate refusal", err, mapbox.ErrTransient)
	if n := e.srv.Counts()[mapbox.EndpointDelete]; n != 0 {
		t.Errorf("a refused request was sent (%d deletes)", n)
	}
	if len(gated) != 3 || len(exchanges) != 2 {
		t.Fatalf("gated %v, observed %d exchanges", gated, len(exchanges))
	}
	if x := exchanges[1]; x.Endpoint != mapbox.EndpointStatus || x.Status != 404 || !errors.Is(x.Err, mapbox.ErrNotFound) || x.Duration <= 0 {
		t.Errorf("observed %+v", x)
	}
}

func TestParseRateLimit(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name string
		h    map[string]string
		want mapbox.RateLimit
	}{
		{"none", nil, mapbox.RateLimit{}},
		{"all", map[string]string{"X-Rate-Limit-Interval": "60", "X-Rate-Limit-Limit": "30", "X-Rate-Limit-Reset": "1800000030"},
			mapbox.RateLimit{Interval: time.Minute, Limit: 30, Reset: time.Unix(1_800_000_030, 0)}},
		{"garbage", map[string]string{"X-Rate-Limit-Interval": "soon", "X-Rate-Limit-Limit": "-3", "X-Rate-Limit-Reset": "x", "Retry-After": "later"},
			mapbox.RateLimit{}},
		{"retry-after seconds", map[string]string{"Retry-After": "12"}, mapbox.RateLimit{RetryAfter: now.Add(12 * time.Second)}},
		{"retry-after date", map[string]string{"Retry-After": now.Add(time.Hour).UTC().Format(http.TimeFormat)},
			mapbox.RateLimit{RetryAfter: now.Add(time.Hour)}},
	} {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		got := mapbox.ParseRateLimit(h, now)
		if got.Interval != tc.want.Interval || got.Limit != tc.want.Limit || !got.Reset.Equal(tc.want.Reset) || !got.RetryAfter.Equal(tc.want.RetryAfter) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		ep     mapbox.Endpoint
		status int
		msg    string
		want   error
	}{
		{mapbox.EndpointStatus, 200, "", nil},
		{mapbox.EndpointCreate, 401, "Not Authorized - Invalid Token", mapbox.ErrUnauthorized},
		{mapbox.EndpointCredentials, 404, "Not Found", mapbox.ErrMissingScope},
		{mapbox.EndpointStatus, 404, "Not Found", mapbox.ErrNotFound},
		{mapbox.EndpointDelete, 404, "Not Found", mapbox.ErrNotFound},
		{mapbox.EndpointCreate, 409, "", mapbox.ErrTilesetBusy},
		{mapbox.EndpointCreate, 422, "An upload to tileset a.b is already in progress", mapbox.ErrTilesetBusy},
		{mapbox.EndpointCreate, 422, "Invalid tileset ID", mapbox.ErrInvalid},
		{mapbox.EndpointCreate, 400, "Bad Request", mapbox.ErrInvalid},
		{mapbox.EndpointList, 429, "", mapbox.ErrRateLimited},
		{mapbox.EndpointList, 500, "", mapbox.ErrTransient},
		{mapbox.EndpointList, 504, "", mapbox.ErrTransient},
		{mapbox.EndpointList, 408, "", mapbox.ErrTransient},
	} {
		if got := mapbox.Classify(tc.ep, tc.status, tc.msg); got != tc.want {
			t.Errorf("Classify(%s, %d, %q) = %v, want %v", tc.ep, tc.status, tc.msg, got, tc.want)
		}
	}
}

// closedPortURL is the URL of a loopback port nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestOddUploadID(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	_, err := e.client.Upload(context.Background(), "a/b c?d")
	wantClass(t, "odd id", err, mapbox.ErrNotFound)
	reqs := e.srv.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/uploads/v1/alice/a/b c?d" || last.Endpoint != "" {
		t.Errorf("sent path %q (endpoint %q)", last.Path, last.Endpoint)
	}
}
