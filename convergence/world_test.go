package convergence

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/chaos"
	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/syncer"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/internal/testdaemon"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
)

// token is the only token the test server accepts; no log may show it.
const token = testenv.Token

// The pace of every history: the watcher's settle time and poll interval,
// and the full rescan that catches what notifications missed.
const (
	settle         = 150 * time.Millisecond
	pollInterval   = 100 * time.Millisecond
	rescanInterval = time.Second
)

// watchNames are the watch folders, under w/ in the history's folder. The
// rules send a file in a folder named own/ to "{watch}-{stem}", any other
// to "{stem}": a move between the top levels of a and b keeps the tileset,
// a move into or out of own/ changes it, and two files of one stem share it.
var watchNames = []string{"a", "b"}

const rulesYAML = `rules:
  - match: "own/**"
    tileset: "{username}.{watch}-{stem}"
  - match: "**"
    tileset: "{username}.{stem}"
`

// world is one history's universe: a test server on an in-process S3 store
// behind a cuttable proxy, the watch folders, a configuration, the daemon
// (in this process, or the real binary) and its log.
type world struct {
	t       *testing.T
	h       *history
	dir     string
	watches []string // absolute paths, in watchNames order
	cfgPath string
	cfg     *config.Config
	srv     *mapboxsim.Server
	store   *mapboxsim.MemStorage
	s3      *chaos.Proxy
	logs    *testkit.Buffer

	inproc *inproc             // the daemon in this process, when it runs
	child  *child              // the binary, when it runs
	wire   *testkit.MTSUploads // the MTS uploads the in-process daemon sent, under an incremental MTS rule
}

func newWorld(t *testing.T, h *history) *world {
	t.Helper()
	w := &world{t: t, h: h, dir: t.TempDir(), logs: &testkit.Buffer{}}
	offset := h.offset
	// A limit far above the daemon's needs: the rate headers of every answer
	// (and of a 429 window's) teach it a fast pace, not Mapbox's default.
	simOpts := mapboxsim.Options{Username: "acme", Token: token,
		ProcessingTime: h.processing, RateLimit: 60000, RateWindow: time.Minute,
		Clock: clock.Offset(offset)}
	if h.mts != nil {
		simOpts.MTS = h.mts.simOptions()
	}
	w.srv, w.store = mapboxsim.StartMem(t, simOpts)
	u, err := url.Parse(w.store.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if w.s3, err = chaos.NewProxy(u.Host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.s3.Close() })
	var watchYAML strings.Builder
	for _, name := range watchNames {
		p := filepath.Join(w.dir, "w", name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		w.watches = append(w.watches, p)
		fmt.Fprintf(&watchYAML, "  - path: %s\n    mode: %s\n    poll_interval: %s\n    settle: %s\n    rescan_interval: %s\n",
			p, h.mode, pollInterval, settle, rescanInterval)
	}
	w.cfgPath = filepath.Join(w.dir, "config.yaml")
	mapboxMore, rules := "", rulesYAML
	if h.mts != nil {
		mapboxMore, rules = w.mtsConfig()
	}
	text := fmt.Sprintf("mapbox:\n  username: acme\n  api_url: %s\n  s3_endpoint: http://%s\n  requests_per_minute: 60000\n%s"+
		"state:\n  path: %s\nwatch:\n%scontrol:\n  listen: \"off\"\n%s",
		w.srv.URL(), w.s3.Addr(), mapboxMore, filepath.Join(w.dir, "state", "state.db"), watchYAML.String(), rules)
	if err := os.WriteFile(w.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	w.loadConfig()
	t.Cleanup(w.stopAll)
	return w
}

// loadConfig reads the world's configuration (again, after a recipe edit).
func (w *world) loadConfig() {
	cfg, err := config.Load(w.cfgPath, config.LoadOptions{RequireToken: true, Getenv: testenv.Getenv})
	if err != nil {
		w.t.Fatal(err)
	}
	w.cfg = cfg
}

// serverNow is the time on Mapbox's clock.
func (w *world) serverNow() time.Time { return time.Now().Add(w.h.offset) }

// watchOf returns the configured watch folder named name.
func (w *world) watchOf(name string) *config.Watch {
	for _, cw := range w.cfg.Watch {
		if filepath.Base(cw.Path) == name {
			return cw
		}
	}
	w.t.Fatalf("no watch folder %q", name)
	return nil
}

// abs is the path on disk of rel in the watch folder named watch.
func (w *world) abs(watch, rel string) string {
	return filepath.Join(w.dir, "w", watch, filepath.FromSlash(rel))
}

// --- the daemon in this process ---------------------------------------------

// inproc is a daemon run in the test process with the pace of a test: fast
// retries and polls, and a one-second wait for answers.
type inproc = testdaemon.Proc

// startInproc opens the daemon on the world's configuration and runs it,
// with the checker's own pacing (faster than testdaemon.Fast).
func (w *world) startInproc() {
	w.t.Helper()
	o := testdaemon.Options(testdaemon.Fast)
	o.Logger = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Poll = syncer.PollPace{First: 40 * time.Millisecond, Max: 150 * time.Millisecond, MinGap: 30 * time.Millisecond, Idle: 100 * time.Millisecond,
		BusyGap: 100 * time.Millisecond, BusyMax: 200 * time.Millisecond}
	o.Backoff = syncer.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond}
	o.Budget = ratelimit.Options{MinOutage: 20 * time.Millisecond, MaxOutage: 500 * time.Millisecond}
	if w.wire != nil {
		o.HTTPClient.Transport = w.wire.Wrap(o.HTTPClient.Transport)
		o.CreateQuiet = 2 * time.Second // what the daemon makes of the unwrapped transport's one-second wait
	}
	w.inproc = testdaemon.Start(w.t, w.cfg, o)
}

// stopInproc stops the in-process daemon gracefully and closes its state.
func (w *world) stopInproc() {
	p := w.inproc
	if p == nil {
		return
	}
	w.inproc = nil
	if err := p.Stop(); err != nil {
		w.t.Errorf("the daemon's Run: %v", err)
	}
}

// --- the real binary ---------------------------------------------------------

// child is tilesyncd run as its own process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// spawn starts `tilesyncd run` on the world's configuration, with the token
// in its environment and its log in the world's.
func (w *world) spawn() {
	w.t.Helper()
	cmd := exec.Command(binaryPath, "run", "--config", w.cfgPath, "--log-format", "json", "--log-level", "debug")
	cmd.Env = append(os.Environ(), "MAPBOX_ACCESS_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	w.child = c
}

// kill sends the binary SIGKILL and waits for it to end.
func (w *world) kill() {
	c := w.child
	if c == nil {
		return
	}
	w.child = nil
	select {
	case <-c.done:
		w.t.Errorf("the daemon had exited by itself: %v", c.err)
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// stopAll ends whichever daemon runs.
func (w *world) stopAll() {
	w.kill()
	w.stopInproc()
}
