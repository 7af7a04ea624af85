package notify_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/hookurl"
	"github.com/tilesyncd/tilesyncd/notify"
)

// endpoint is a real HTTP server that answers failStatus to the first
// failFirst requests and 200 to the others, optionally holding each
// request until release is closed.
type endpoint struct {
	srv *httptest.Server

	mu          sync.Mutex
	failFirst   int
	failStatus  int
	failHeader  http.Header
	echoURL     bool          // failures answer the request's URL (to test redaction)
	release     chan struct{} // nil: answer at once
	reqs        []received
	arrived     chan struct{} // one send per request, as it arrives
	inFlight    int
	maxInFlight int
}

type received struct {
	body   []byte
	header http.Header
	status int
}

func newEndpoint(t *testing.T, failFirst, failStatus int) *endpoint {
	t.Helper()
	e := &endpoint{failFirst: failFirst, failStatus: failStatus, arrived: make(chan struct{}, 10000)}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// hold makes requests wait until the returned function is called (at the
// latest at cleanup).
func (e *endpoint) hold(t *testing.T) (release func()) {
	ch := make(chan struct{})
	e.mu.Lock()
	e.release = ch
	e.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release) // before the server's Close, which waits for the handlers
	return release
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	n := len(e.reqs) + 1
	status := http.StatusOK
	if n <= e.failFirst {
		status = e.failStatus
	}
	rec := received{body: body, header: r.Header.Clone(), status: status}
	e.reqs = append(e.reqs, rec)
	e.inFlight++
	e.maxInFlight = max(e.maxInFlight, e.inFlight)
	release, echo, extra := e.release, e.echoURL, e.failHeader
	e.mu.Unlock()
	e.arrived <- struct{}{}
	if release != nil {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	if status != http.StatusOK {
		for k, v := range extra {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	if echo && status != http.StatusOK {
		io.WriteString(w, "no such hook: "+r.URL.String())
	}
	e.mu.Lock()
	e.inFlight--
	e.mu.Unlock()
}

// requests returns what arrived so far.
func (e *endpoint) requests() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]received(nil), e.reqs...)
}

// delivered returns the payloads answered 200, in order.
func (e *endpoint) delivered(t *testing.T) []notify.Payload {
	t.Helper()
	var out []notify.Payload
	for _, r := range e.requests() {
		if r.status != http.StatusOK {
			continue
		}
		var p notify.Payload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("payload %q: %v", r.body, err)
		}
		out = append(out, p)
	}
	return out
}

// waitArrivals waits for n more requests to arrive, for at most a minute.
func (e *endpoint) waitArrivals(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(time.Minute)
	for range n {
		select {
		case <-e.arrived:
		case <-deadline:
			t.Fatalf("%d requests arrived, waited for %d more", len(e.requests()), n)
		}
	}
}

// waitFor polls cond every few milliseconds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustURL(t testing.TB, s string) hookurl.URL {
	t.Helper()
	u, err := hookurl.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// logBuffer collects a logger's lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
