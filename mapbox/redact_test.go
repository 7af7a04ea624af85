package mapbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/mapboxtest"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = testkit.Buffer

// TestTokenNeverLeaks sends failing requests of every kind with a
// distinctive token and looks for it in every error and log line.
func TestTokenNeverLeaks(t *testing.T) {
	token := "sk.eyJ1IjoiTEVBSy1NRS1JRi1ZT1UtQ0FOIn0.Zm9vYmFy+/=" // needs escaping in a query
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var observed []error
	e := newEnv(t, mapboxtest.Options{RateLimit: 1000}, mapbox.Options{})
	e.srv.AddToken(token, mapboxtest.ScopeWrite, mapboxtest.ScopeRead, mapboxtest.ScopeList)
	opts := mapbox.Options{BaseURL: e.srv.URL(), Username: "alice", Token: token, Logger: logger,
		Observe: func(x mapbox.Exchange) { observed = append(observed, x.Err) }}
	c := newClient(t, opts)
	badOpts := opts
	badOpts.Token = token + "-wrong"
	bad := newClient(t, badOpts)
	refusedOpts := opts
	refusedOpts.BaseURL = closedPortURL(t)
	refused := newClient(t, refusedOpts)
	ctx := context.Background()

	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Error("expected a failure, got none")
			return
		}
		errs = append(errs, err)
	}
	// Bad token, on every endpoint.
	_, err := bad.Credentials(ctx)
	collect(err)
	_, err = bad.Create(ctx, mapbox.CreateRequest{Tileset: "alice.x", URL: "https://x"})
	collect(err)
	_, err = bad.Upload(ctx, "id")
	collect(err)
	_, err = bad.List(ctx, mapbox.ListOptions{})
	collect(err)
	collect(bad.Delete(ctx, "id"))
	// Refused connection.
	_, err = refused.Credentials(ctx)
	collect(err)
	// Dropped connection and an unreachable API.
	e.srv.DropNext("", 1)
	_, err = c.Credentials(ctx)
	collect(err)
	e.srv.SetUnreachable(true)
	_, err = c.Upload(ctx, "id")
	collect(err)
	e.srv.SetUnreachable(false)
	// Timeout.
	e.srv.SetDelay(5 * time.Second)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.List(short, mapbox.ListOptions{})
	cancel()
	collect(err)
	e.srv.SetDelay(0)
	// 5xx, 422, 404 and 429.
	e.srv.FailNext("", 1, http.StatusInternalServerError)
	_, err = c.List(ctx, mapbox.ListOptions{})
	collect(err)
	_, err = c.Create(ctx, mapbox.CreateRequest{Tileset: "bad id", URL: "https://x"})
	collect(err)
	collect(c.Delete(ctx, "nope"))
	e.srv.SetRateLimit(1, time.Minute)
	_, _ = c.List(ctx, mapbox.ListOptions{})
	_, err = c.List(ctx, mapbox.ListOptions{})
	collect(err)

	forms := []string{token, url.QueryEscape(token), url.PathEscape(token)}
	check := func(what, s string) {
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("token found in %s: %s", what, s)
			}
		}
	}
	for i, err := range append(errs, observed...) {
		if err == nil {
			continue
		}
		check(fmt.Sprintf("error %d Error()", i), err.Error())
		check(fmt.Sprintf("error %d %%+v", i), fmt.Sprintf("%+v", err))
		check(fmt.Sprintf("error %d %%#v", i), fmt.Sprintf("%#v", err))
	}
	check("log output", logs.String())
	check("Options %+v", fmt.Sprintf("%+v", opts))
	check("Options %#v", fmt.Sprintf("%#v", opts))
	check("Client %+v", fmt.Sprintf("%+v", c))
	check("Client %#v", fmt.Sprintf("%#v", c))
	if len(errs) != 13 || !strings.Contains(logs.String(), `"status":401`) {
		t.Fatalf("only %d failures, or no log lines: %s", len(errs), logs.String())
	}
}
