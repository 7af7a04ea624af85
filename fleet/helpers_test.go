package fleet

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/redistest"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

// testPassword is every test server's password: no log line, error or key
// may show it.
const testPassword = "fleet-test-PASSWORD-7c1e9a"

// harness is one test's Redis, its fleets and their shared log.
type harness struct {
	t   *testing.T
	srv *redistest.Server
	log *syncBuffer
}

// newHarness starts a password-protected redis-server; when the test ends
// it checks that no log line showed the password.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, srv: redistest.Start(t, redistest.Options{Password: testPassword}), log: &syncBuffer{}}
	t.Cleanup(func() {
		if strings.Contains(h.log.String(), testPassword) {
			t.Errorf("the log shows the Redis password:\n%s", h.log.String())
		}
		if t.Failed() {
			t.Logf("fleet log:\n%s", tail(h.log.String(), 80))
		}
	})
	return h
}

// options are a node's options with short times for tests: a lease of 1 s,
// a heartbeat TTL of 600 ms (a beat every 200 ms), Redis calls bounded by 500 ms.
func (h *harness) options(url, node string) Options {
	return Options{URL: url, Password: testPassword, Node: node, Group: "acme",
		Logger:   slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		LeaseTTL: time.Second, HeartbeatTTL: 600 * time.Millisecond, Timeout: 500 * time.Millisecond}
}

// open opens a node on the harness' server (or on url, a proxy's, if given).
func (h *harness) open(node string, mod ...func(*Options)) *Fleet {
	h.t.Helper()
	opts := h.options(h.srv.URL(), node)
	for _, m := range mod {
		m(&opts)
	}
	f, err := Open(context.Background(), opts)
	if err != nil {
		h.t.Fatalf("open %s: %v", node, err)
	}
	h.t.Cleanup(func() { f.Close() })
	return f
}

func via(url string) func(*Options) { return func(o *Options) { o.URL = url } }

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor checks cond every 10 ms until it holds, failing t when timeout
// passes first: a poll tick, not a sleep standing for an event.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// answerError returns the error the real Mapbox client makes of an HTTP
// answer with status and headers, from a real server.
func answerError(t *testing.T, status int, header map[string]string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, `{"message":"test answer"}`)
	}))
	defer srv.Close()
	c, err := mapbox.New(mapbox.Options{BaseURL: srv.URL, Username: "u", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(context.Background(), mapbox.ListOptions{Limit: 1})
	if err == nil {
		t.Fatalf("HTTP %d: no error", status)
	}
	return err
}

// waitN runs one Wait for ep with a deadline and fails t on error.
func waitN(t *testing.T, b *Budget, ep mapbox.Endpoint, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := b.Wait(ctx, ep); err != nil {
		t.Fatalf("Wait(%s): %v", ep, err)
	}
}

// abandon stops a lease's renewal without releasing it, as a SIGKILL would.
func abandon(l *Lease) {
	l.mu.Lock()
	released := l.released
	l.released = true // no "lease lost" warning: this node is dead
	l.mu.Unlock()
	if !released {
		close(l.stop)
		<-l.done
	}
}

// pretendValid makes a lease believe it still holds, as a node frozen (a
// stopped VM, a long pause) would when it wakes: only Redis can refuse it.
func pretendValid(l *Lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.validUntil = l.f.now().Add(time.Hour)
	l.lostErr = nil
}
