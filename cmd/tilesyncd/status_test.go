package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/syncer"
)

// statusToken is the test server's all-scopes token; no output may show it.
const statusToken = "sk.eyJ1IjoiYWNtZSJ9.status-test-SECRET"

// statusEnv is a test server, a drop folder and a configuration whose
// control endpoint is a Unix socket in the test's folder.
type statusEnv struct {
	t       *testing.T
	srv     *mapboxsim.Server
	dir     string
	drop    string
	cfgPath string
}

func newStatusEnv(t *testing.T) *statusEnv {
	t.Helper()
	srv, _ := mapboxsim.StartMem(t, mapboxsim.Options{Username: "acme", Token: statusToken, ProcessingTime: 100 * time.Millisecond})
	e := &statusEnv{t: t, srv: srv, dir: t.TempDir()}
	e.drop = filepath.Join(e.dir, "drop")
	if err := os.Mkdir(e.drop, 0o755); err != nil {
		t.Fatal(err)
	}
	e.cfgPath = e.config("tilesyncd", statusToken)
	return e
}

// config writes a configuration named name+".yaml" whose token file holds token.
func (e *statusEnv) config(name, token string) string {
	e.t.Helper()
	tokenFile := filepath.Join(e.dir, name+".token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	text := fmt.Sprintf(`mapbox:
  username: acme
  token_file: %s
  api_url: %s
  s3_endpoint: %s
  requests_per_minute: 6000
state:
  path: state/state.db
control:
  listen: unix:control.sock
watch:
  - path: drop
    mode: poll
    poll_interval: 100ms
    settle: 100ms
rules:
  - match: "**"
    tileset: "{username}.{stem}"
`, tokenFile, e.srv.URL(), e.srv.Storage().Endpoint())
	path := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *statusEnv) write(rel, content string) {
	e.t.Helper()
	p := filepath.Join(e.drop, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// start runs a daemon on the configuration until the returned stop is called.
func (e *statusEnv) start() (*daemon.Daemon, func()) {
	e.t.Helper()
	cfg, err := config.Load(e.cfgPath, config.LoadOptions{RequireToken: true})
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := daemon.Open(cfg, daemon.Options{Version: "9.9.9-test",
		Poll: syncer.PollPace{First: 50 * time.Millisecond, Max: 200 * time.Millisecond, MinGap: 50 * time.Millisecond,
			BusyGap: 100 * time.Millisecond, BusyMax: 200 * time.Millisecond},
		Backoff: syncer.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond}})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
		d.Close()
	}
	e.t.Cleanup(stop)
	statusWait(e.t, "the control endpoint", func() bool {
		resp, err := control.NewHTTPClient(cfg.Control.Listen).Get(control.BaseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return d, stop
}

// statusWait polls cond until it holds, for at most 30 seconds.
func statusWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // a poll tick, not a wait for an event
	}
}

// noToken fails the test if any output shows the token.
func noToken(t *testing.T, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		if strings.Contains(o, statusToken) {
			t.Errorf("output shows the token:\n%s", o)
		}
	}
}

func TestStatusWithDaemon(t *testing.T) {
	e := newStatusEnv(t)
	d, _ := e.start()
	e.write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	e.write("notes.docx", "not a geodata file")
	statusWait(t, "the upload", func() bool { return d.Syncer().Stats().Uploaded.Load() == 1 })

	code, out, errOut := runCLI(t, "status", "--config", e.cfgPath)
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"tilesyncd 9.9.9-test, running since", "Health:       ok", "Queue:        0 queued",
		"Recently done", "uploaded", "acme.roads", "Rate budget:  6000 requests per 1m0s", "Watch folders:", e.drop + "  mode poll", "scans, polled every 100ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "daemon not running") {
		t.Errorf("status read the state file with a daemon running:\n%s", out)
	}
	t.Logf("status:\n%s", out)

	code, js, errOut := runCLI(t, "status", "--config", e.cfgPath, "--json")
	if code != 0 {
		t.Fatalf("status --json: exit %d\n%s", code, errOut)
	}
	var st control.Status
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		t.Fatal(err)
	}
	if st.Source != control.SourceDaemon || st.Version != "9.9.9-test" || st.Budget == nil || len(st.Watch) != 1 || len(st.State.Recent) == 0 {
		t.Errorf("status --json = %s", js)
	}
	noToken(t, out, js, errOut)

	// The token stops working: status says so and exits 1.
	e.srv.AddAccountToken("someone-else", statusToken, mapboxsim.ScopeWrite, mapboxsim.ScopeRead, mapboxsim.ScopeList)
	e.write("lakes.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}}]}`)
	statusWait(t, "the token refused", func() bool { return d.Syncer().AuthError() != nil })
	code, out, errOut = runCLI(t, "status", "--config", e.cfgPath)
	if code != 1 || !strings.Contains(out, "Token:        REFUSED by Mapbox") || !strings.Contains(errOut, "Mapbox refuses the token") {
		t.Errorf("status with a refused token: exit %d\n%s%s", code, out, errOut)
	}
	noToken(t, out, errOut)
}

func TestStatusWithoutDaemon(t *testing.T) {
	e := newStatusEnv(t)

	// Never run: no state file.
	code, out, errOut := runCLI(t, "status", "--config", e.cfgPath)
	if code != 0 || !strings.Contains(out, "daemon not running; from the state file") || !strings.Contains(out, "does not exist yet") {
		t.Errorf("status before any run: exit %d\n%s%s", code, out, errOut)
	}

	d, stop := e.start()
	e.write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	e.write("notes.docx", "not a geodata file")
	statusWait(t, "the upload", func() bool { return d.Syncer().Stats().Uploaded.Load() == 1 && d.Intake().Stats().Refused.Load() == 1 })
	stop()

	code, out, errOut = runCLI(t, "status", "--config", e.cfgPath)
	if code != 0 {
		t.Fatalf("status without a daemon: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"daemon not running; from the state file " + filepath.Join(e.dir, "state", "state.db"),
		"Queue:        0 queued", "Recently done", "acme.roads", "Refused files", "notes.docx: unsupported type .docx"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("status:\n%s", out)
	code, js, errOut := runCLI(t, "status", "--config", e.cfgPath, "--json")
	var st control.Status
	if err := json.Unmarshal([]byte(js), &st); code != 0 || err != nil || st.Source != control.SourceStateFile || len(st.State.Recent) == 0 {
		t.Errorf("status --json without a daemon: exit %d, %v\n%s%s", code, err, js, errOut)
	}
	noToken(t, out, js, errOut)
}

func TestCheck(t *testing.T) {
	e := newStatusEnv(t)
	e.srv.AddToken("sk.no-write", mapboxsim.ScopeRead, mapboxsim.ScopeList)
	e.srv.AddToken("sk.no-read", mapboxsim.ScopeWrite, mapboxsim.ScopeList)
	e.srv.AddToken("sk.write-only", mapboxsim.ScopeWrite)

	requests := func() int {
		n := 0
		for _, c := range e.srv.Counts() {
			n += c
		}
		return n
	}
	check := func(cfg string) (int, string, string, int) {
		t.Helper()
		before := requests()
		code, out, errOut := runCLI(t, "check", "--config", cfg)
		noToken(t, out, errOut)
		return code, out, errOut, requests() - before
	}

	code, out, errOut, n := check(e.cfgPath)
	if code != 0 || !regexpMatch(out, `uploads:list +ok`, `uploads:write +ok`, `uploads:read +not verified`) || n != 3 {
		t.Errorf("check with every scope, empty account: exit %d, %d requests\n%s%s", code, n, out, errOut)
	}
	code, out, errOut, _ = check(e.config("nowrite", "sk.no-write"))
	if code != 1 || !regexpMatch(out, `uploads:write +MISSING +POST credentials answered 404`) || !strings.Contains(errOut, "the token lacks uploads:write") {
		t.Errorf("check without uploads:write: exit %d\n%s%s", code, out, errOut)
	}

	// With an upload in the account, uploads:read is proved either way.
	d, stop := e.start()
	e.write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	statusWait(t, "the upload", func() bool { return d.Syncer().Stats().Uploaded.Load() == 1 })
	code, out, errOut, n = check(e.cfgPath) // beside the running daemon
	if code != 0 || !regexpMatch(out, `uploads:read +ok +GET the status of upload`) || n != 3 {
		t.Errorf("check with every scope and an upload: exit %d, %d requests\n%s%s", code, n, out, errOut)
	}
	stop()
	code, out, errOut, _ = check(e.config("noread", "sk.no-read"))
	if code != 1 || !regexpMatch(out, `uploads:read +MISSING`, `uploads:list +ok`, `uploads:write +ok`) || !strings.Contains(errOut, "lacks uploads:read") {
		t.Errorf("check without uploads:read: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut, _ = check(e.config("writeonly", "sk.write-only"))
	if code != 1 || !regexpMatch(out, `uploads:list +MISSING`, `uploads:read +not verified`, `uploads:write +ok`) || !strings.Contains(errOut, "lacks uploads:list") {
		t.Errorf("check with only uploads:write: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut, n = check(e.config("unknown", "sk.unknown-token"))
	if code != 1 || !strings.Contains(errOut, "Mapbox refuses the token (401") || n != 1 {
		t.Errorf("check with an unknown token: exit %d, %d requests\n%s%s", code, n, out, errOut)
	}
	t.Logf("check output:\n%s", out)

	// A configuration error is exit 2, before any request.
	bad := filepath.Join(e.dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("mapbox:\n  username: acme\ncontrol:\n  listen: 0.0.0.0:7655\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut, n := check(bad); code != 2 || !strings.Contains(errOut, "control.listen") || n != 0 {
		t.Errorf("check with a bad configuration: exit %d, %d requests\n%s", code, n, errOut)
	}
}

// regexpMatch reports whether s matches every pattern.
func regexpMatch(s string, patterns ...string) bool {
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(s) {
			return false
		}
	}
	return true
}
