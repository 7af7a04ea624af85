package control

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

func TestListenRefusesRemoteAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:7655"} {
		ln, err := Listen(addr, false)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%q) without allow_remote succeeded", addr)
		} else if !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("Listen(%q): %v, want a refusal naming loopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := Listen(addr, false)
		if err != nil {
			t.Errorf("Listen(%q): %v", addr, err)
			continue
		}
		ln.Close()
	}
	// Told so, it binds every interface.
	ln, err := Listen("0.0.0.0:0", true)
	if err != nil {
		t.Fatalf("Listen(0.0.0.0:0, allowRemote): %v", err)
	}
	ln.Close()
}

func TestListenPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	_, err = Listen(addr, false)
	if want := "control endpoint " + addr + " in use: another tilesyncd is running?"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Listen on a taken port: %v, want %q", err, want)
	}
}

func TestListenUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "control.sock")
	addr := "unix:" + path
	ln, err := Listen(addr, false)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("socket %s: %v, mode %v; want 0600", path, err, fi.Mode().Perm())
	}
	if Addr(ln) != addr {
		t.Errorf("Addr = %q, want %q", Addr(ln), addr)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) })}
	go srv.Serve(ln)

	// A live socket is in use.
	if _, err := Listen(addr, false); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Listen on a live socket: %v", err)
	}
	resp, err := NewHTTPClient(addr).Get(BaseURL + "/")
	if err != nil {
		t.Fatalf("GET over the socket: %v", err)
	}
	resp.Body.Close()
	srv.Close()

	// A stale socket (its process died without removing it) is replaced.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the stale socket is gone: %v", err)
	}
	ln, err = Listen(addr, false)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()

	// Nothing there: the client says the daemon is not running.
	if _, err := NewHTTPClient(addr).Get(BaseURL + "/status"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("GET with no daemon: %v, want ErrNotRunning", err)
	}
}

func TestJudge(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	stall := 30 * time.Minute
	tests := []struct {
		name    string
		authErr error
		pending int
		last    time.Time
		ok      bool
		reason  string
	}{
		{"idle for long", nil, 0, now.Add(-48 * time.Hour), true, ""},
		{"working", nil, 3, now.Add(-time.Minute), true, ""},
		{"just within", nil, 3, now.Add(-stall), true, ""},
		{"stalled", nil, 3, now.Add(-stall - time.Second), false, "3 job(s) pending and nothing has progressed for 30m1s"},
		{"token refused", errors.New("create: HTTP 401: Not Authorized - Invalid Token"), 0, now, false, "Mapbox refuses the token"},
	}
	for _, tt := range tests {
		h := judge(now, tt.authErr, tt.pending, tt.last, stall)
		if h.OK != tt.ok || !strings.Contains(h.Reason, tt.reason) || (tt.ok && h.Reason != "") {
			t.Errorf("%s: %+v, want ok %v, reason containing %q", tt.name, h, tt.ok, tt.reason)
		}
	}
}

// Jobs waiting to retry count in the stall check: a job that has waited
// for StallAfter has not moved either (issue 13, item 12).
func TestPendingCountsRetryWait(t *testing.T) {
	counts := map[state.Stage]int{state.StageQueued: 1, state.StageRetryWait: 2, state.StageFailed: 4}
	if got := pending(counts); got != 3 {
		t.Errorf("pending(%v) = %d, want 3", counts, got)
	}
}

func TestProgressMarksChanges(t *testing.T) {
	var p progress
	t0 := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	if got := p.seen(t0, [5]int64{}); !got.Equal(t0) {
		t.Errorf("first look: %v, want %v", got, t0)
	}
	if got := p.seen(t0.Add(time.Hour), [5]int64{}); !got.Equal(t0) {
		t.Errorf("nothing moved: %v, want %v", got, t0)
	}
	t2 := t0.Add(2 * time.Hour)
	if got := p.seen(t2, [5]int64{0, 0, 5 << 20}); !got.Equal(t2) {
		t.Errorf("a part staged: %v, want %v", got, t2)
	}
}
