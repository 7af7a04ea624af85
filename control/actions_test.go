package control

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/state"
)

// recordActions records the actions the endpoint passes on. It stands in
// for the daemon, whose actions the daemon package tests on the simulator:
// here only the endpoint's checks are tested.
type recordActions struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordActions) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recordActions) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *recordActions) Retry(req RetryRequest) (ActionResult, error) {
	r.add("retry")
	return ActionResult{Done: []ActionItem{{Source: state.FileKey{Watch: "/w", Path: "a.geojson"}, Tileset: "u.a"}}}, nil
}

func (r *recordActions) Forget(files []state.FileKey) (ActionResult, error) {
	r.add("forget")
	return ActionResult{}, nil
}

func (r *recordActions) SetPaused(folders []string, paused bool) (ActionResult, error) {
	if paused {
		r.add("pause " + strings.Join(folders, ","))
	} else {
		r.add("resume " + strings.Join(folders, ","))
	}
	return ActionResult{}, nil
}

func (r *recordActions) Paused() []string { return nil }

// post sends an action request: host is the Host header, origin the Origin
// header ("" for none), token the action token header ("" for none).
func post(t *testing.T, addr, path, host, origin, token, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, BaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := NewHTTPClient(addr).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// tokenOf reads the endpoint's action token as the CLI does.
func tokenOf(t *testing.T, addr string) string {
	t.Helper()
	code, body := ask(t, addr, "GET", PathToken, "localhost", "")
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(body), &v); code != http.StatusOK || err != nil || len(v.Token) < 40 {
		t.Fatalf("GET %s: %d %q (%v)", PathToken, code, body, err)
	}
	return v.Token
}

// An action is taken only when the request names this machine in Host,
// comes from no other origin, carries this start's token and a JSON body;
// whatever is refused never reaches the daemon, and the token is never
// logged, not even when a wrong one is sent.
func TestActionsGuarded(t *testing.T) {
	logs := &testkit.Buffer{}
	acts := &recordActions{}
	addr := serveTCP(t, Options{Actions: acts, Hosts: []string{"tiles.example.lan"},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	_, port, _ := net.SplitHostPort(addr)
	token := tokenOf(t, addr)
	self := "127.0.0.1:" + port
	const js = "application/json"
	tests := []struct {
		name                    string
		path, host, origin, tok string
		contentType, body       string
		want                    int
		wantBody                string
	}{
		{"the CLI: no Origin, the token", PathRetry, "localhost", "", token, js, `{"failed":true}`, http.StatusOK, `"u.a"`},
		{"the page: its own origin, the token", PathPause, self, "http://" + self, token, js, `{"folders":["/w"]}`, http.StatusOK, ""},
		{"a configured host's page", PathResume, "tiles.example.lan:" + port, "http://tiles.example.lan:" + port, token, js, `{}`, http.StatusOK, ""},
		{"the JSON type with parameters", PathForget, self, "", token, "application/json; charset=utf-8", `{"files":[{"watch":"/w","path":"a"}]}`, http.StatusOK, ""},
		{"a cross-origin page", PathRetry, self, "http://evil.example", token, js, `{"failed":true}`, http.StatusForbidden, "Origin"},
		{"a cross-origin page, no token", PathRetry, self, "http://evil.example", "", "text/plain", `{"failed":true}`, http.StatusForbidden, "Origin"},
		{"an opaque origin", PathRetry, self, "null", token, js, `{"failed":true}`, http.StatusForbidden, "Origin"},
		{"a rebound name in Host", PathRetry, "evil.example:" + port, "http://evil.example:" + port, token, js, `{"failed":true}`, http.StatusForbidden, "control.hosts"},
		{"a wrong Host, no Origin", PathRetry, "evil.example", "", token, js, `{"failed":true}`, http.StatusForbidden, "control.hosts"},
		{"no token", PathRetry, self, "", "", js, `{"failed":true}`, http.StatusForbidden, TokenHeader},
		{"no token, same origin", PathPause, self, "http://" + self, "", js, `{}`, http.StatusForbidden, TokenHeader},
		{"a wrong token", PathRetry, self, "", "x" + token[1:], js, `{"failed":true}`, http.StatusForbidden, "not this start's"},
		{"a form's body", PathRetry, self, "", token, "application/x-www-form-urlencoded", `failed=true`, http.StatusUnsupportedMediaType, "JSON"},
		{"a text body", PathRetry, self, "", token, "text/plain", `{"failed":true}`, http.StatusUnsupportedMediaType, "JSON"},
		{"an unknown field", PathRetry, self, "", token, js, `{"failed":true,"all":1}`, http.StatusBadRequest, "unknown field"},
		{"nothing named", PathRetry, self, "", token, js, `{}`, http.StatusBadRequest, "name the files"},
		{"nothing to forget", PathForget, self, "", token, js, `{"files":[]}`, http.StatusBadRequest, "name the files"},
		{"not JSON", PathRetry, self, "", token, js, `failed`, http.StatusBadRequest, "request body"},
		{"too large", PathForget, self, "", token, js, `{"files":[` + strings.Repeat(`{"watch":"/w","path":"a"},`, 60000) + `{}]}`, http.StatusRequestEntityTooLarge, ""},
	}
	want := 0
	for _, tt := range tests {
		before := len(acts.taken())
		code, body := post(t, addr, tt.path, tt.host, tt.origin, tt.tok, tt.contentType, tt.body)
		if code != tt.want || !strings.Contains(body, tt.wantBody) {
			t.Errorf("%s: %d %q, want %d with %q", tt.name, code, body, tt.want, tt.wantBody)
		}
		if code == http.StatusOK {
			want++
		} else if n := len(acts.taken()); n != before {
			t.Errorf("%s: refused with %d, yet the action was taken", tt.name, code)
		}
		if strings.Contains(body, token) {
			t.Errorf("%s: the answer shows the token", tt.name)
		}
	}
	if got := acts.taken(); len(got) != want {
		t.Errorf("actions taken: %q, want %d", got, want)
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, BaseURL+PathRetry, nil)
		req.Header.Set(TokenHeader, token)
		resp, err := NewHTTPClient(addr).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %s, want 405", m, PathRetry, resp.Status)
		}
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), token[1:]) {
		t.Errorf("the log shows the action token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "refused an action without this start's token") {
		t.Errorf("the refusals are not logged:\n%s", logs.String())
	}
}

// A browser asks before a cross-origin request with a custom header (the
// token's): the endpoint's answer to that preflight lets nothing through.
func TestActionPreflightRefused(t *testing.T) {
	addr := serveTCP(t, Options{Actions: &recordActions{}})
	_, port, _ := net.SplitHostPort(addr)
	for _, origin := range []string{"http://evil.example", "http://127.0.0.1:" + port} {
		req, _ := http.NewRequest(http.MethodOptions, BaseURL+PathRetry, nil)
		req.Host = "127.0.0.1:" + port
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", strings.ToLower(TokenHeader)+",content-type")
		resp, err := NewHTTPClient(addr).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("preflight from %s: %s, want a refusal", origin, resp.Status)
		}
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("preflight from %s: the answer has %s: %q", origin, k, resp.Header.Get(k))
			}
		}
	}
}

// Actions come only from this machine: with allow_remote, a client reaching
// the endpoint at another address of this machine reads it but cannot act.
// Over the Unix socket, the CLI acts.
func TestActionsOnlyFromThisMachine(t *testing.T) {
	remote := otherAddress(t)
	ln, err := Listen(net.JoinHostPort(remote, "0"), true)
	if err != nil {
		t.Fatal(err)
	}
	acts := &recordActions{}
	addr := serveTest(t, ln, Options{Actions: acts, Hosts: []string{remote}})
	token := tokenOf(t, addr)
	code, body := post(t, addr, PathPause, remote, "", token, "application/json", `{}`)
	if code != http.StatusForbidden || !strings.Contains(body, "only from this machine") {
		t.Errorf("an action from %s: %d %q, want 403", remote, code, body)
	}
	if code, _ := ask(t, addr, "GET", "/", remote, ""); code != http.StatusOK {
		t.Errorf("reading from %s with allow_remote was refused", remote)
	}

	sock, err := Listen("unix:"+filepath.Join(t.TempDir(), "control.sock"), false)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	saddr := serveTest(t, sock, Options{Actions: acts})
	res, err := Act(context.Background(), saddr, PathResume, PauseRequest{Folders: []string{"/w"}})
	if err != nil {
		t.Fatalf("an action over the Unix socket: %v", err)
	}
	if got := acts.taken(); len(got) != 1 || got[0] != "resume /w" {
		t.Errorf("actions taken: %q (result %+v), want the resume over the socket only", got, res)
	}
}

// otherAddress is an address of this machine that is not loopback; the test
// skips when there is none.
func otherAddress(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil && !ipn.IP.IsLinkLocalUnicast() {
			return ipn.IP.String()
		}
	}
	t.Skip("this machine has no address but loopback")
	return ""
}

// Each start has its own token: one start's is refused by the next.
func TestActionTokenPerStart(t *testing.T) {
	a := serveTCP(t, Options{Actions: &recordActions{}})
	b := serveTCP(t, Options{Actions: &recordActions{}})
	ta, tb := tokenOf(t, a), tokenOf(t, b)
	if ta == tb {
		t.Fatalf("two starts share the token")
	}
	if code, body := post(t, b, PathPause, "localhost", "", ta, "application/json", `{}`); code != http.StatusForbidden {
		t.Errorf("another start's token: %d %q, want 403", code, body)
	}
	if _, err := Act(context.Background(), b, PathPause, PauseRequest{}); err != nil {
		t.Errorf("Act: %v", err)
	}
}

// The page carries the token and a strict policy; its files are served,
// and nothing of it is served without the policy.
func TestPageServed(t *testing.T) {
	addr := serveTCP(t, Options{Actions: &recordActions{}, Version: "1.2.3"})
	token := tokenOf(t, addr)
	for _, tt := range []struct{ path, contentType, contains string }{
		{"/", "text/html", `<meta name="tilesyncd-action-token" content="` + token + `">`},
		{"/ui/page.js", "javascript", "X-Tilesyncd-Action-Token"},
		{"/ui/dom.js", "javascript", "export function el("},
		{"/ui/page.css", "text/css", "progress"},
		{"/ui/icon.svg", "image/svg+xml", "<svg"},
	} {
		resp, err := NewHTTPClient(addr).Get(BaseURL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(string(body), tt.contains) {
			t.Errorf("GET %s: %s, %s, want %s holding %q", tt.path, resp.Status, resp.Header.Get("Content-Type"), tt.contentType, tt.contains)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != PageCSP {
			t.Errorf("GET %s: CSP %q, want %q", tt.path, got, PageCSP)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: headers %v", tt.path, resp.Header)
		}
	}
	if code, _ := ask(t, addr, "GET", "/ui/index.html", "localhost", ""); code != http.StatusNotFound {
		t.Errorf("GET /ui/index.html: %d, want 404 (the page is served at / only)", code)
	}
	// No script in the page but its own file, no inline handler, and no
	// innerHTML in the script.
	_, page := ask(t, addr, "GET", "/", "localhost", "")
	if strings.Count(page, "<script") != 1 || regexp.MustCompile(`(?i)\son[a-z]+\s*=`).MatchString(page) {
		t.Errorf("the page has inline script:\n%s", page)
	}
	for _, file := range []string{"page.js", "dom.js"} {
		_, js := ask(t, addr, "GET", "/ui/"+file, "localhost", "")
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(js, bad) {
				t.Errorf("%s uses %s", file, bad)
			}
		}
	}
}

// Act says the daemon is not running when nothing answers.
func TestActNotRunning(t *testing.T) {
	_, err := Act(context.Background(), "unix:"+filepath.Join(t.TempDir(), "none.sock"), PathPause, PauseRequest{})
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("Act with no daemon: %v, want ErrNotRunning", err)
	}
}
