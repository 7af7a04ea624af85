package mapbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

// TestTokenNeverLeaks sends failing requests of every kind with a
// distinctive token and looks for it in every error and log line.
// It is long because it is a table of failing requests, each with its own server.
func TestTokenNeverLeaks(t *testing.T) {
	token := "sk.eyJ1IjoiTEVBSy1NRS1JRi1ZT1UtQ0FOIn0.Zm9vYmFy+/=" // needs escaping in a query
	var logs testkit.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var observed []error
	e := newEnv(t, mapboxsim.Options{RateLimit: 1000}, mapbox.Options{})
	e.srv.AddToken(token, mapboxsim.ScopeWrite, mapboxsim.ScopeRead, mapboxsim.ScopeList)
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

// gatewayToken is shaped like a Mapbox secret token, with the characters
// that need escaping in a query or a path.
const gatewayToken = "sk.eyJ1IjoiYWxpY2UiLCJhIjoiY2x0b2tlbjAwMSJ9.aBcD_eF-gH+iJ/kL="

// TestTokenEchoedByAGateway has a proxy answer 502 with a page that echoes
// the token, at the length limit of an excerpt and in the encodings a
// gateway might use, and looks for any 8 characters of the token in the
// error, as written and decoded (mapbox.TokenFragment).
func TestTokenEchoedByAGateway(t *testing.T) {
	tok := gatewayToken
	pad := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct{ name, body string }{
		{"straddles the 200-byte cut", pad(190) + tok},
		{"straddles the cut after a line", "<h1>502 Bad Gateway</h1>\n" + pad(165) + tok + " was refused"},
		{"dots as %2E", "upstream refused GET /uploads/v1/alice?access_token=" + strings.ReplaceAll(tok, ".", "%2E")},
		{"dots as %2e", "refused access_token=" + strings.ReplaceAll(tok, ".", "%2e")},
		{"query-escaped", "refused access_token=" + url.QueryEscape(tok)},
		{"path-escaped", "refused /" + url.PathEscape(tok) + "/"},
		{"every character escaped, mixed case", "refused " + escapeAll(tok)},
		{"double-escaped", "refused next=" + url.QueryEscape("https://api/?access_token="+url.QueryEscape(tok))},
		{"JSON escapes", `{"error":"refused","url":"https:\/\/api\/?access_token=` +
			strings.NewReplacer(".", `\u002e`, "/", `\/`, "+", `\u002B`).Replace(tok) + `"}`},
		{"HTML character references", "<p>refused <code>" +
			strings.NewReplacer(".", "&#46;", "/", "&#x2F;", "+", "&#43;", "=", "&#61;").Replace(tok) + "</code></p>"},
		{"form-decoded (+ as a space)", "refused token " + strings.ReplaceAll(tok, "+", " ")},
		{"truncated by the gateway", "refused access_token=" + tok[:12] + "..."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := newClient(t, mapbox.Options{BaseURL: srv.URL, Username: "alice", Token: tok})
			_, err := c.Credentials(context.Background())
			wantClass(t, tc.name, err, mapbox.ErrTransient)
			if frag := mapbox.TokenFragment(tok, err.Error()); frag != "" {
				t.Errorf("%q of the token survives in %q", frag, err)
			}
		})
	}
}

// TestTokenInAMalformedAnswer has the answer's status line echo the token
// with its dots escaped: net/http quotes a line without a space in its
// error, which reaches the client as a transport failure.
func TestTokenInAMalformedAnswer(t *testing.T) {
	tok := gatewayToken
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer l.Close()
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			conn.Read(buf)
			io.WriteString(conn, "HTTP/1.1/?access_token="+strings.ReplaceAll(tok, ".", "%2E")+"\r\n\r\n")
			conn.Close()
		}
	})
	c := newClient(t, mapbox.Options{BaseURL: "http://" + l.Addr().String(), Username: "alice", Token: tok})
	_, err = c.Credentials(context.Background())
	wantClass(t, "malformed answer", err, mapbox.ErrTransient)
	if !strings.Contains(err.Error(), "malformed") {
		t.Errorf("error %q does not say the answer was malformed", err)
	}
	if frag := mapbox.TokenFragment(tok, err.Error()); frag != "" {
		t.Errorf("%q of the token survives in %q", frag, err)
	}
}

// escapeAll writes every byte as %XX, alternating upper- and lower-case hex.
func escapeAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if i%2 == 0 {
			fmt.Fprintf(&b, "%%%02X", s[i])
		} else {
			fmt.Fprintf(&b, "%%%02x", s[i])
		}
	}
	return b.String()
}
