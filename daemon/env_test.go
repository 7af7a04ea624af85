package daemon

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/syncer"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
)

// testToken is the token the test server accepts; no log line may show it.
const testToken = "sk.eyJ1IjoidGVzdCJ9.tilesyncd-test-SECRET-token"

// env is a test server on an S3 store, a drop folder and a configuration
// pointing at them.
type env struct {
	t       *testing.T
	srv     *mapboxsim.Server
	storage mapboxsim.Storage
	dir     string // holds drop/, state/ and config.yaml
	drop    string
	cfgPath string
	logs    *syncBuffer
	poll    syncer.PollPace
}

type envOptions struct {
	storage    mapboxsim.Storage // nil: a MemStorage
	processing time.Duration
	rateLimit  int
	perMinute  int // the daemon's requests_per_minute (default 6000)
	extraYAML  string
	settle     string
	poll       syncer.PollPace // zero: fastPoll
	// control is the config's control: section; "" puts the control
	// endpoint on a Unix socket in the env's folder (control.sock).
	control string
	// now is the test server's clock (default time.Now): Mapbox's clock
	// off this machine's.
	now func() time.Time
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.processing == 0 {
		o.processing = 300 * time.Millisecond
	}
	if o.perMinute == 0 {
		o.perMinute = 6000
	}
	if o.settle == "" {
		o.settle = "200ms"
	}
	if o.control == "" {
		o.control = "control:\n  listen: unix:control.sock\n"
	}
	if o.poll == (syncer.PollPace{}) {
		o.poll = fastPoll
	}
	e := &env{t: t, dir: t.TempDir(), logs: &syncBuffer{}, poll: o.poll}
	opts := mapboxsim.Options{Username: "acme", Token: testToken, ProcessingTime: o.processing, RateLimit: o.rateLimit, Now: o.now}
	if o.storage == nil {
		e.srv, e.storage = mapboxsim.StartMem(t, opts)
	} else {
		opts.Storage = o.storage
		e.storage = o.storage
		e.srv = mapboxsim.New(opts)
		t.Cleanup(e.srv.Close)
	}
	e.drop = filepath.Join(e.dir, "drop")
	if err := os.Mkdir(e.drop, 0o755); err != nil {
		t.Fatal(err)
	}
	e.cfgPath = filepath.Join(e.dir, "config.yaml")
	cfg := fmt.Sprintf(`mapbox:
  username: acme
  api_url: %s
  s3_endpoint: %s
  requests_per_minute: %d
state:
  path: state/state.db
watch:
  - path: drop
    mode: poll
    poll_interval: 100ms
    settle: %s
rules:
  - match: "**"
    tileset: "{username}.{stem}"
%s%s`, e.srv.URL(), e.storage.Endpoint(), o.perMinute, o.settle, o.extraYAML, o.control)
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), testToken) {
			t.Errorf("the token appears in the logs")
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", testkit.Tail(e.logs.String(), 400))
		}
	})
	return e
}

// config loads the env's configuration with the test token.
func (e *env) config() *config.Config {
	e.t.Helper()
	cfg, err := config.Load(e.cfgPath, config.LoadOptions{RequireToken: true, Getenv: func(k string) string {
		if k == "MAPBOX_ACCESS_TOKEN" {
			return testToken
		}
		return ""
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return cfg
}

// fastPoll polls processing uploads every few tens of milliseconds.
var fastPoll = syncer.PollPace{First: 50 * time.Millisecond, Max: 200 * time.Millisecond, MinGap: 50 * time.Millisecond, BusyGap: 100 * time.Millisecond}

// testHTTPClient is the production client with a short wait for answers,
// so that a dropped connection costs a test a second, not half a minute.
func testHTTPClient() *http.Client {
	c := mapbox.NewHTTPClient()
	c.Transport.(*http.Transport).ResponseHeaderTimeout = time.Second
	return c
}

// open opens a daemon on the env.
func (e *env) open() *Daemon {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := Open(e.config(), Options{Logger: log, Poll: e.poll, HTTPClient: testHTTPClient(),
		Backoff: syncer.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond},
		Budget:  ratelimit.Options{MinOutage: 20 * time.Millisecond, MaxOutage: 500 * time.Millisecond}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// syncOnce opens a daemon, syncs once and closes it.
func (e *env) syncOnce() Summary {
	e.t.Helper()
	d := e.open()
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := d.SyncOnce(ctx)
	if err != nil {
		e.t.Fatalf("SyncOnce: %v", err)
	}
	return sum
}

// write puts a file in the drop folder.
func (e *env) write(rel, content string) {
	e.t.Helper()
	p := filepath.Join(e.drop, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// copyExamples copies the bundled example files into the drop folder.
func (e *env) copyExamples() []string {
	e.t.Helper()
	src := filepath.Join("..", "examples", "drop")
	var rels []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		e.write(filepath.ToSlash(rel), string(data))
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return rels
}

// uploadsByTileset counts the server's uploads per tileset.
func (e *env) uploadsByTileset() map[string]int {
	out := map[string]int{}
	for _, u := range e.srv.Uploads() {
		out[u.Tileset]++
	}
	return out
}

// requests is the number of API requests the server has seen.
func (e *env) requests() int {
	n := 0
	for _, c := range e.srv.Counts() {
		n += c
	}
	return n
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer = testkit.Buffer

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, what, timeout, cond)
}
