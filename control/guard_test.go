package control

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// noSource is a Source for tests that ask only "/" and requests refused
// before any handler runs: every accessor returns nil.
type noSource struct{}

func (noSource) Records() Records             { return nil }
func (noSource) Activity() Activity           { return Activity{} }
func (noSource) BudgetStats() ratelimit.Stats { return ratelimit.Stats{} }
func (noSource) Folders() []watcher.Status    { return nil }

// serveTest serves a Server with opts (Source: noSource) on ln until the test
// ends, and returns its address as Listen takes it.
func serveTest(t *testing.T, ln net.Listener, opts Options) string {
	t.Helper()
	opts.Source = noSource{}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return Addr(ln)
}

func serveTCP(t *testing.T, opts Options) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	return serveTest(t, ln, opts)
}

// ask sends a request to the endpoint at addr with the given Host header
// (and Origin, when not empty) and returns the status code and body; code 0
// and the error when no answer came.
func ask(t *testing.T, addr, method, path, host, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, BaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := NewHTTPClient(addr).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(body)
}

// A web page that rebinds its own name to 127.0.0.1 reaches the endpoint
// with its name in Host: it is refused, as is a request from a foreign page.
func TestHostAndOriginChecked(t *testing.T) {
	addr := serveTCP(t, Options{Hosts: []string{"tiles.example.lan"}})
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		method, path, host, origin string
		want                       int
	}{
		{"GET", "/status", "evil.example", "", http.StatusForbidden},
		{"GET", "/status", "evil.example:" + port, "", http.StatusForbidden},
		{"GET", "/metrics", "127.0.0.1.evil.example:" + port, "", http.StatusForbidden},
		{"GET", "/healthz", "localhost.evil.example", "", http.StatusForbidden},
		{"HEAD", "/", "evil.example", "", http.StatusForbidden},
		{"GET", "/", "127.0.0.1:" + port, "", http.StatusOK},
		{"GET", "/", "127.0.0.1", "", http.StatusOK},
		{"GET", "/", "127.1.2.3:" + port, "", http.StatusOK},
		{"GET", "/", "[::1]:" + port, "", http.StatusOK},
		{"GET", "/", "[::1]", "", http.StatusOK},
		{"GET", "/", "localhost:" + port, "", http.StatusOK},
		{"GET", "/", "LocalHost", "", http.StatusOK},
		{"GET", "/", "tiles.example.lan:" + port, "", http.StatusOK},
		{"GET", "/", "TILES.example.lan", "", http.StatusOK},
		// Not a GET: a foreign Origin is refused, no Origin (a CLI) or the
		// endpoint's own passes on to the handler (which allows only GET).
		{"POST", "/", "127.0.0.1:" + port, "http://evil.example", http.StatusForbidden},
		{"POST", "/", "127.0.0.1:" + port, "http://127.0.0.1:" + port + ".evil.example", http.StatusForbidden},
		{"POST", "/", "127.0.0.1:" + port, "null", http.StatusForbidden},
		{"DELETE", "/status", "localhost:" + port, "http://localhost:1", http.StatusForbidden},
		{"POST", "/", "127.0.0.1:" + port, "", http.StatusMethodNotAllowed},
		{"POST", "/", "127.0.0.1:" + port, "http://127.0.0.1:" + port, http.StatusMethodNotAllowed},
		{"POST", "/", "tiles.example.lan:" + port, "http://tiles.example.lan:" + port, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		code, body := ask(t, addr, tt.method, tt.path, tt.host, tt.origin)
		if code != tt.want {
			t.Errorf("%s %s, Host %q, Origin %q: %d %q, want %d", tt.method, tt.path, tt.host, tt.origin, code, body, tt.want)
		}
		if code == http.StatusForbidden && tt.method != "HEAD" && !strings.Contains(body, "control.hosts") && !strings.Contains(body, "Origin") {
			t.Errorf("%s %s, Host %q: the refusal %q does not say why", tt.method, tt.path, tt.host, body)
		}
	}
}

// The CLI's client (status) is accepted over TCP and over a Unix socket; a
// foreign Host is refused over the socket too.
func TestHostCheckedOnUnixSocket(t *testing.T) {
	ln, err := Listen("unix:"+filepath.Join(t.TempDir(), "control.sock"), false)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	addr := serveTest(t, ln, Options{})
	resp, err := NewHTTPClient(addr).Get(BaseURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the CLI's client over the socket: %s, want 200", resp.Status)
	}
	if code, body := ask(t, addr, "GET", "/status", "evil.example", ""); code != http.StatusForbidden {
		t.Errorf("Host evil.example over the socket: %d %q, want 403", code, body)
	}

	tcp := serveTCP(t, Options{})
	resp, err = NewHTTPClient(tcp).Get(BaseURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the CLI's client over TCP: %s, want 200", resp.Status)
	}
}

// A connection left idle after a request is closed after IdleTimeout.
func TestIdleConnectionClosed(t *testing.T) {
	addr := serveTCP(t, Options{IdleTimeout: 100 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /: %s, close %v; want 200 on a kept-alive connection", resp.Status, resp.Close)
	}
	// Wait, at most 10 s, for the server to close the idle connection.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, err = r.ReadByte()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the idle connection is still open after %v", time.Since(start).Round(time.Millisecond))
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("reading the idle connection: %v, want EOF", err)
	}
}

// A request whose headers are larger than the cap is refused with 431.
func TestOversizeHeaders(t *testing.T) {
	addr := serveTCP(t, Options{})
	req, err := http.NewRequest("GET", BaseURL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "127.0.0.1"
	req.Header.Set("X-Padding", strings.Repeat("a", 4*maxHeaderBytes))
	resp, err := NewHTTPClient(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers of %d bytes: %s, want 431", 4*maxHeaderBytes, resp.Status)
	}
}
