package mapbox_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// transport is a plain HTTP transport (no proxy from the environment) with
// the given dialer.
func transport(d *net.Dialer) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestNotSent checks, over real HTTP, each way a request can provably not
// reach Mapbox, and that every failure after a connection was handed to
// the request is "maybe sent".
// It is long because it is a table of the ways, each with its own server.
func TestNotSent(t *testing.T) {
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{})
	ctx := context.Background()
	user, token := e.srv.Username(), e.srv.Token()
	client := func(o mapbox.Options) *mapbox.Client {
		if o.BaseURL == "" {
			o.BaseURL = e.srv.URL()
		}
		o.Username, o.Token = user, token
		return newClient(t, o)
	}
	check := func(what string, err error, want bool) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		wantClass(t, what, err, classOf(err))
		if got := mapbox.NotSent(err); got != want {
			t.Errorf("%s: NotSent(%v) = %v, want %v", what, err, got, want)
		}
	}

	// Never sent.
	_, err := client(mapbox.Options{BaseURL: closedPortURL(t)}).Credentials(ctx)
	check("connection refused", err, true)
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, mapbox.ErrTransient) {
		t.Errorf("connection refused: %v, want ECONNREFUSED and ErrTransient", err)
	}

	noDNS := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no name server")
	}}
	_, err = client(mapbox.Options{BaseURL: "http://api.mapbox.invalid", HTTPClient: transport(&net.Dialer{Resolver: noDNS})}).Credentials(ctx)
	check("DNS failure", err, true)
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		t.Errorf("DNS failure: %v is not a *net.DNSError", err)
	}

	// A dial that never completes: the dialer's own timeout ends it.
	hang := &net.Dialer{Timeout: 20 * time.Millisecond, ControlContext: func(ctx context.Context, _, _ string, _ syscall.RawConn) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	_, err = client(mapbox.Options{HTTPClient: transport(hang)}).Credentials(ctx)
	check("dial timeout", err, true)

	refuse := errors.New("budget closed")
	_, err = client(mapbox.Options{Gate: func(context.Context, mapbox.Endpoint) error { return refuse }}).Credentials(ctx)
	check("gate refusal", err, true)
	if !errors.Is(err, refuse) {
		t.Errorf("gate refusal: %v does not wrap the gate's error", err)
	}

	waiting := make(chan struct{})
	blocked := client(mapbox.Options{Gate: func(ctx context.Context, _ mapbox.Endpoint) error {
		close(waiting)
		<-ctx.Done()
		return ctx.Err()
	}})
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-waiting
		cancel()
	}()
	_, err = blocked.Credentials(cctx)
	check("context ended in the gate", err, true)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("context ended in the gate: %v, want context.Canceled", err)
	}

	_, err = e.client.Upload(ctx, "")
	check("empty upload id", err, true)
	_, err = e.client.List(ctx, mapbox.ListOptions{Limit: mapbox.MaxListLimit + 1})
	check("limit out of range", err, true)
	if n := e.srv.Counts()[mapbox.EndpointCredentials]; n != 0 {
		t.Fatalf("the server saw %d credentials requests, want none", n)
	}

	// Maybe sent: the request reached the server.
	e.srv.DropNext(mapbox.EndpointCredentials, 1)
	_, err = e.client.Credentials(ctx)
	check("connection dropped after the request", err, false)

	e.srv.DropAfterNext(mapbox.EndpointCredentials, 1)
	_, err = e.client.Credentials(ctx)
	check("answer lost after the request took effect", err, false)

	slow := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 20 * time.Millisecond}}
	e.srv.SetDelay(time.Minute) // ends when the client gives up
	_, err = client(mapbox.Options{HTTPClient: slow}).Credentials(ctx)
	e.srv.SetDelay(0)
	check("response header timeout", err, false)

	e.srv.FailNext(mapbox.EndpointCredentials, 1, http.StatusServiceUnavailable)
	_, err = e.client.Credentials(ctx)
	check("a 503 answer", err, false)
	e.srv.RateLimitFor(time.Minute)
	_, err = e.client.Credentials(ctx)
	check("a 429 answer", err, false)
	if !errors.Is(err, mapbox.ErrRateLimited) {
		t.Errorf("during RateLimitFor: %v, want ErrRateLimited", err)
	}
	e.srv.RateLimitFor(0)

	if mapbox.NotSent(nil) || mapbox.NotSent(mapbox.ErrTransient) {
		t.Error("NotSent is true of nil or of a bare class")
	}
	if _, err := e.client.Credentials(ctx); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

// classOf is the package class err wraps (for wantClass).
func classOf(err error) error {
	for _, c := range []error{mapbox.ErrUnauthorized, mapbox.ErrMissingScope, mapbox.ErrInvalid, mapbox.ErrNotFound,
		mapbox.ErrTilesetBusy, mapbox.ErrRateLimited, mapbox.ErrTransient, mapbox.ErrProcessing, mapbox.ErrCredentialsExpired} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}
