// Package testenv is the one test environment of tilesyncd's end-to-end
// tests, chaos scenarios and benchmarks: a Mapbox simulator on an S3 store,
// a drop folder, a configuration file pointing at them, the daemon's log
// (checked for the token when the test ends), the real binary built once,
// and the Mapbox test token. Package testkit holds the smaller helpers
// (a log sink, a wait on a condition with a deadline).
package testenv

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// Token is the token the simulator accepts; no log may show it.
const Token = "sk.eyJ1IjoidGVzdCJ9.tilesyncd-test-SECRET-token-do-not-log"

// Options shape an Env; the zero value is a simulator on an in-memory S3
// store, a new drop folder polled every 100 ms with a 200 ms settle, one rule
// sending every file to "{username}.{stem}", and no control endpoint.
type Options struct {
	// Sim are the simulator's options; Username and Token are set.
	Sim mapboxsim.Options
	// Storage is the S3 store; nil: an in-memory one.
	Storage mapboxsim.Storage
	// S3Endpoint, if set, returns what the configuration names for S3
	// given the store's own endpoint (a test puts a proxy in front of
	// it); nil: the store's.
	S3Endpoint func(store string) string
	// PerMinute is the daemon's requests_per_minute; default 60000.
	PerMinute int
	// Mode, PollInterval, Settle and RescanInterval are the watch folder's;
	// defaults poll, 100ms, 200ms and the configuration's own. PollInterval
	// "none" leaves the configuration's own too.
	Mode, PollInterval, Settle, RescanInterval string
	// Drop is an existing drop folder; "": a new one.
	Drop string
	// StatePath is the state database; "": state/state.db in the env's folder.
	StatePath string
	// Control is the configuration's control section; "": off.
	Control string
	// Extra is YAML appended to the configuration (more rules, sections).
	Extra string
	// Shared marks the watch folder shared (fleet mode: Extra must hold a
	// fleet section; see Fleet in fleet.go).
	Shared bool
}

// Env is one test's world.
type Env struct {
	TB         testing.TB
	Srv        *mapboxsim.Server
	Storage    mapboxsim.Storage
	Dir        string // holds drop/, state/ and config.yaml
	Drop       string
	ConfigPath string
	StatePath  string
	Logs       *testkit.Buffer
}

// New starts a simulator and writes the configuration. When the test ends
// it fails it if the token appears in Logs, and on failure it prints the
// log's tail and keeps the whole log in a file.
func New(tb testing.TB, o Options) *Env {
	tb.Helper()
	e := &Env{TB: tb, Dir: tb.TempDir(), Logs: &testkit.Buffer{}}
	o.Sim.Username, o.Sim.Token = "acme", Token
	if o.Storage == nil {
		e.Srv, e.Storage = mapboxsim.StartMem(tb, o.Sim)
	} else {
		o.Sim.Storage, e.Storage = o.Storage, o.Storage
		e.Srv = mapboxsim.New(o.Sim)
		tb.Cleanup(e.Srv.Close)
	}
	e.Drop = o.Drop
	if e.Drop == "" {
		e.Drop = filepath.Join(e.Dir, "drop")
		if err := os.Mkdir(e.Drop, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	e.StatePath = o.StatePath
	if e.StatePath == "" {
		e.StatePath = filepath.Join(e.Dir, "state", "state.db")
	}
	e.ConfigPath = filepath.Join(e.Dir, "config.yaml")
	e.WriteConfig(e.yaml(o))
	tb.Cleanup(func() {
		if strings.Contains(e.Logs.String(), Token) {
			tb.Errorf("the token appears in the daemon's log")
		}
		if tb.Failed() {
			keep := filepath.Join(os.TempDir(), "tilesyncd-"+strings.ReplaceAll(tb.Name(), "/", "-")+".log")
			if err := os.WriteFile(keep, []byte(e.Logs.String()), 0o644); err == nil {
				tb.Logf("the whole daemon log is in %s", keep)
			}
			tb.Logf("daemon log (tail):\n%s", testkit.Tail(e.Logs.String(), 60))
		}
	})
	return e
}

func (e *Env) yaml(o Options) string {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Mode, "poll")
	def(&o.PollInterval, "100ms")
	def(&o.Settle, "200ms")
	s3 := e.Storage.Endpoint()
	if o.S3Endpoint != nil {
		s3 = o.S3Endpoint(s3)
	}
	def(&o.Control, "control:\n  listen: \"off\"\n")
	if o.PerMinute == 0 {
		o.PerMinute = 60000
	}
	extra := ""
	if o.PollInterval != "none" {
		extra += "    poll_interval: " + o.PollInterval + "\n"
	}
	if o.RescanInterval != "" {
		extra += "    rescan_interval: " + o.RescanInterval + "\n"
	}
	if o.Shared {
		extra += "    shared: true\n"
	}
	return fmt.Sprintf(`mapbox:
  username: acme
  api_url: %s
  s3_endpoint: %s
  requests_per_minute: %d
state:
  path: %s
watch:
  - path: %s
    mode: %s
    settle: %s
%srules:
  - match: "**"
    tileset: "{username}.{stem}"
%s%s`, e.Srv.URL(), s3, o.PerMinute, e.StatePath, e.Drop, o.Mode, o.Settle, extra, o.Extra, o.Control)
}

// WriteConfig replaces the configuration file.
func (e *Env) WriteConfig(text string) {
	e.TB.Helper()
	if err := os.WriteFile(e.ConfigPath, []byte(text), 0o600); err != nil {
		e.TB.Fatal(err)
	}
}

// Config loads the configuration with the test token in the environment.
func (e *Env) Config() *config.Config {
	e.TB.Helper()
	cfg, err := config.Load(e.ConfigPath, config.LoadOptions{RequireToken: true, Getenv: Getenv})
	if err != nil {
		e.TB.Fatal(err)
	}
	return cfg
}

// Getenv is an environment holding only MAPBOX_ACCESS_TOKEN=Token.
func Getenv(k string) string {
	if k == "MAPBOX_ACCESS_TOKEN" {
		return Token
	}
	return ""
}

// Logger writes debug-level text to Logs.
func (e *Env) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write puts a file in the drop folder, making its folders.
func (e *Env) Write(rel, content string) {
	e.TB.Helper()
	p := filepath.Join(e.Drop, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.TB.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.TB.Fatal(err)
	}
}

// HTTPClient is the production client with a short wait for answers, so
// that a dropped connection costs a test a second, not half a minute.
func HTTPClient(headerTimeout time.Duration) *http.Client {
	c := mapbox.NewHTTPClient()
	c.Transport.(*http.Transport).ResponseHeaderTimeout = headerTimeout
	return c
}

// Requests is the number of API requests the simulator has seen.
func (e *Env) Requests() int {
	n := 0
	for _, c := range e.Srv.Counts() {
		n += c
	}
	return n
}

// UploadsByTileset counts the simulator's uploads per tileset.
func (e *Env) UploadsByTileset() map[string]int {
	out := map[string]int{}
	for _, u := range e.Srv.Uploads() {
		out[u.Tileset]++
	}
	return out
}
