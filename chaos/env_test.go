package chaos

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/mapboxsim"

	"github.com/tilesyncd/tilesyncd/internal/testdaemon"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
)

// full reports whether the full counts run (make chaos) rather than the CI ones.
func full() bool { return os.Getenv("TILESYNCD_CHAOS") == "full" }

// pick returns the full count or the CI one.
func pick[T any](fullValue, ci T) T {
	if full() {
		return fullValue
	}
	return ci
}

// env is one scenario's world: the shared test environment (testenv) with
// the S3 store behind a cuttable proxy, notify mode and a 2 s rescan, and the
// books of what was written to the drop folder.
type env struct {
	*testenv.Env
	t      *testing.T
	proxy  *Proxy
	ledger *Ledger

	processing time.Duration
}

type envOptions struct {
	processing time.Duration
	rateLimit  int
	rateWindow time.Duration
	perMinute  int
	mode       string // watch mode; default notify
	statePath  string // default state/state.db under the env's folder
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.processing == 0 {
		o.processing = 200 * time.Millisecond
	}
	if o.mode == "" {
		o.mode = "notify"
	}
	e := &env{t: t, processing: o.processing}
	e.Env = testenv.New(t, testenv.Options{PerMinute: o.perMinute, Mode: o.mode, RescanInterval: "2s", StatePath: o.statePath,
		Sim: mapboxsim.Options{ProcessingTime: o.processing, RateLimit: o.rateLimit, RateWindow: o.rateWindow},
		S3Endpoint: func(store string) string {
			u, err := url.Parse(store)
			if err != nil {
				t.Fatal(err)
			}
			if e.proxy, err = NewProxy(u.Host); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.proxy.Close() })
			return "http://" + e.proxy.Addr()
		}})
	e.ledger = NewLedger(e.Drop)
	return e
}

// dropFiles writes n new GeoJSON files named prefix0000… and returns their
// paths relative to the drop folder. Each has unique content of about size bytes.
func (e *env) dropFiles(prefix string, n, size int) []string {
	e.t.Helper()
	rels := make([]string, 0, n)
	for i := range n {
		stem := fmt.Sprintf("%s%04d", prefix, i)
		rel := fmt.Sprintf("d%d/%s.geojson", i%8, stem)
		if err := e.ledger.Write(rel, "acme."+stem, content(stem, 1, size)); err != nil {
			e.t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	return rels
}

// content is a GeoJSON file of about size bytes, unique to (stem, version).
func content(stem string, version, size int) []byte {
	head := fmt.Sprintf(`{"type":"FeatureCollection","features":[],"name":%q,"version":%d,"pad":"`, stem, version)
	pad := max(size-len(head)-2, 0)
	var b bytes.Buffer
	b.WriteString(head)
	for i := 0; i < pad; i++ {
		b.WriteByte("abcdefghijklmnopqrstuvwxyz"[(i*7+version)%26])
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// tilesetOf is the tileset of a file dropped by dropFiles.
func tilesetOf(rel string) string {
	return "acme." + strings.TrimSuffix(filepath.Base(rel), ".geojson")
}

// tally is the verdict on the server's uploads so far.
func (e *env) tally() Tally { return e.ledger.Tally(e.Srv.Uploads()) }

// waitQuiet waits until every file's content now has reached its tileset and
// processing has ended, and then until no credentials or create request has
// arrived for quietFor (a late duplicate would show up in that time), or
// until timeout. idle, if not nil, must also hold (the daemon's queue empty).
func (e *env) waitQuiet(timeout time.Duration, idle func() bool) Tally {
	e.t.Helper()
	const quietFor = 1500 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		t := e.tally()
		if t.Lost == 0 && e.processed() && (idle == nil || idle()) {
			if time.Since(e.lastForward()) >= quietFor {
				return e.tally()
			}
		}
		time.Sleep(50 * time.Millisecond) // a poll tick, not a wait for an event
	}
	e.t.Errorf("not quiet after %v", timeout)
	return e.tally()
}

// processed reports whether every upload created has finished processing.
func (e *env) processed() bool {
	for _, u := range e.Srv.Uploads() {
		if time.Since(u.Created) < e.processing+100*time.Millisecond {
			return false
		}
	}
	return true
}

// lastForward is when the last credentials or create request arrived.
func (e *env) lastForward() time.Time {
	var last time.Time
	for _, r := range e.Srv.Requests() {
		if r.Endpoint == mapbox.EndpointCredentials || r.Endpoint == mapbox.EndpointCreate {
			last = r.Time
		}
	}
	return last
}

// report logs the scenario's line and fails the test if anything was
// duplicated, lost or torn.
func (e *env) report(name string, t Tally) {
	e.t.Helper()
	line := fmt.Sprintf("chaos %-28s %s", name, t)
	fmt.Println(line)
	e.t.Log(line)
	if !t.OK() {
		e.t.Errorf("%s: duplicates, lost or torn uploads (lost: %v)", name, first(t.Missing, 10))
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// --- the daemon in this process ---------------------------------------------

// inproc is a daemon run in the test process with fast retries and a short
// wait for answers (testdaemon), so that faults cost seconds.
type inproc = testdaemon.Proc

type inprocOptions struct {
	headerTimeout time.Duration // default 1 s
	staging       staging.Options
	workers       int
}

// start runs a daemon in this process until the test ends (or Stop).
func (e *env) start(o inprocOptions) *inproc {
	e.t.Helper()
	opts := testdaemon.Options(testdaemon.Fast)
	opts.Logger, opts.Staging, opts.Workers = e.Logger(), o.staging, o.workers
	if o.headerTimeout != 0 {
		opts.HTTPClient = testenv.HTTPClient(o.headerTimeout)
	}
	return testdaemon.Start(e.t, e.Config(), opts)
}

// --- the real binary ---------------------------------------------------------

// child is tilesyncd run as its own process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// spawn starts `tilesyncd run --config …` with the token in its environment,
// its log appended to the env's log.
func (e *env) spawn(args ...string) *child {
	e.t.Helper()
	if len(args) == 0 {
		args = []string{"run", "--config", e.ConfigPath, "--log-format", "json", "--log-level", "debug"}
	}
	cmd := exec.Command(testenv.Binary(e.t), args...)
	cmd.Env = append(os.Environ(), "MAPBOX_ACCESS_TOKEN="+testenv.Token)
	cmd.Stdout, cmd.Stderr = e.Logs, e.Logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	e.t.Cleanup(func() { c.kill() })
	return c
}

// kill sends SIGKILL and waits for the process to end.
func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}
