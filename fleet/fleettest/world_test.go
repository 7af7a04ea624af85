package fleettest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/internal/redistest"
	"github.com/tilesyncd/tilesyncd/internal/testdaemon"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// The fleet's group, and the Redis password of every scenario: no log may
// show either the password or the Mapbox token.
const (
	group    = "acme"
	password = "fleettest-REDIS-password-4d2a91"
)

// full reports whether the full counts run (TILESYNCD_CHAOS=full).
func full() bool { return os.Getenv("TILESYNCD_CHAOS") == "full" }

// world is one scenario: the simulator (base's), a password-protected
// redis-server, the books of every file written, and the nodes.
type world struct {
	t     *testing.T
	base  *testenv.Env
	redis *redistest.Server
	rc    *redis.Client // the test's own client of it
	books *books
	lease time.Duration
	// simNow is the simulator's clock: its request log's times.
	simNow func() time.Time
}

type worldOptions struct {
	sim   mapboxsim.Options
	lease time.Duration // the nodes' lease_ttl; default 2 s
}

func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	if o.sim.ProcessingTime == 0 {
		o.sim.ProcessingTime = 300 * time.Millisecond
	}
	if o.lease == 0 {
		o.lease = 2 * time.Second
	}
	w := &world{t: t, redis: redistest.Start(t, redistest.Options{Password: password}), books: newBooks(), lease: o.lease}
	w.base = testenv.New(t, testenv.Options{Sim: o.sim})
	w.rc = w.redis.Client()
	w.simNow = clock.Or(o.sim.Clock).Now
	return w
}

// nodeOptions shape one node's configuration.
type nodeOptions struct {
	shared    bool   // watch the world's shared folder (base's drop), marked shared
	redis     string // the Redis URL it is given; default the server's
	perMinute int    // requests_per_minute; default 60000
	// local adds a second watch folder, not shared: localDir(env).
	local bool
}

// localDir is the node's own watch folder beside a shared one (nodeOptions.local).
func localDir(env *testenv.Env) string { return filepath.Join(env.Dir, "local") }

// node writes node name's configuration: its own folder, or the shared one.
func (w *world) node(name string, o nodeOptions) *testenv.Env {
	w.t.Helper()
	if o.redis == "" {
		o.redis = w.redis.URL()
	}
	pw := filepath.Join(w.base.Dir, "redis-password-"+name)
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		w.t.Fatal(err)
	}
	to := testenv.Options{PerMinute: o.perMinute, Shared: o.shared, Settle: "300ms", RescanInterval: "2s",
		Extra: testenv.Fleet(o.redis, name, group, w.lease) + "  password_file: " + pw + "\n"}
	if o.shared {
		to.Drop = w.base.Drop
	}
	env := w.base.Node(name, to)
	w.t.Cleanup(func() {
		if strings.Contains(env.Logs.String(), password) {
			w.t.Errorf("node %s's log shows the Redis password", name)
		}
	})
	if o.local {
		if err := os.Mkdir(localDir(env), 0o755); err != nil {
			w.t.Fatal(err)
		}
		text, err := os.ReadFile(env.ConfigPath)
		if err != nil {
			w.t.Fatal(err)
		}
		watch := "  - path: " + localDir(env) + "\n    mode: poll\n    poll_interval: 100ms\n    settle: 300ms\nrules:\n"
		env.WriteConfig(strings.Replace(string(text), "rules:\n", watch, 1))
	}
	if dir := os.Getenv("TILESYNCD_TEST_LOGS"); dir != "" { // keep every node's log, passed or not
		w.t.Cleanup(func() {
			os.WriteFile(filepath.Join(dir, strings.ReplaceAll(w.t.Name(), "/", "-")+"-"+name+".log"), []byte(env.Logs.String()), 0o644)
		})
	}
	return env
}

// drop writes n new files into dir, stems prefix0000…, about size bytes.
func (w *world) drop(dir, prefix string, n, size int) {
	w.t.Helper()
	for i := range n {
		stem := fmt.Sprintf("%s%04d", prefix, i)
		w.write(dir, stem, 1, size)
	}
}

// write writes version v of the file stem.geojson into dir.
func (w *world) write(dir, stem string, v, size int) {
	w.t.Helper()
	if err := w.books.write(dir, stem+".geojson", "acme."+stem, content(stem, v, size)); err != nil {
		w.t.Fatal(err)
	}
}

// converge waits until every tileset holds its file's bytes, every upload
// has finished processing, idle holds (nil: no check), and no credentials
// or create request came for quietFor; then it judges. It fails the test
// on a timeout, and whenever the verdict is not ok.
func (w *world) converge(name string, timeout time.Duration, idle func() bool) verdict {
	w.t.Helper()
	const quietFor = 1500 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for {
		v := w.books.judge(w.base.Srv)
		if v.Lost == 0 && w.processed() && (idle == nil || idle()) && w.simNow().Sub(w.lastForward()) >= quietFor {
			break
		}
		if time.Now().After(deadline) {
			w.t.Errorf("%s: not converged after %v: %s; missing %v", name, timeout, v, first(v.Missing, 10))
			break
		}
		time.Sleep(50 * time.Millisecond) // a poll tick, not a wait for an event
	}
	v := w.books.judge(w.base.Srv)
	line := fmt.Sprintf("fleet %-34s %s", name, v)
	fmt.Println(line)
	w.t.Log(line)
	if !v.ok() {
		w.t.Errorf("%s: %s; duplicated %v, missing %v", name, v, duplicates(w.base.Srv), first(v.Missing, 10))
	}
	return v
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// processed reports whether every upload created has finished processing.
func (w *world) processed() bool {
	for _, u := range w.base.Srv.Uploads() {
		if u.Finished.IsZero() && u.Error == "" {
			return false
		}
	}
	return true
}

// lastForward is when the last credentials or create request arrived.
func (w *world) lastForward() time.Time {
	var last time.Time
	for _, r := range w.base.Srv.Requests() {
		if r.Endpoint == mapbox.EndpointCredentials || r.Endpoint == mapbox.EndpointCreate {
			last = r.Time
		}
	}
	return last
}

// holders maps each tileset whose lease is held now to its holder, read
// from Redis itself.
func (w *world) holders() map[string]string {
	c := w.rc
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	prefix := "tilesyncd:{" + group + "}:lease:"
	out := map[string]string{}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		return out
	}
	for _, k := range keys {
		v, err := c.Get(ctx, k).Result()
		if _, node, ok := strings.Cut(v, "@"); err == nil && ok {
			out[strings.TrimPrefix(k, prefix)] = node
		}
	}
	return out
}

// --- nodes in this process ---------------------------------------------------

// proc is a node's daemon run in the test process with fast polls and
// retries (testdaemon).
type proc struct {
	*testdaemon.Proc
	name string
	env  *testenv.Env
}

// run opens a daemon on env's configuration and runs it until stop (or the
// end of the test).
func (w *world) run(name string, env *testenv.Env, opts ...func(*daemon.Options)) *proc {
	w.t.Helper()
	o := testdaemon.Options(testdaemon.Fast)
	o.Logger = env.Logger()
	for _, f := range opts {
		f(&o)
	}
	return &proc{Proc: testdaemon.Start(w.t, env.Config(), o), name: name, env: env}
}

// idle reports whether the node's queue is empty.
func (p *proc) idle() bool { return p.Idle() }

// stop stops the daemon and closes it (it leaves the fleet).
func (p *proc) stop() { p.Stop() }

// --- the real binary ---------------------------------------------------------

// child is `tilesyncd run` as a process of its own; its log lines are
// stamped with the time they arrived.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *stamped
}

// spawn starts `tilesyncd run` on env's configuration, the token in its
// environment, its JSON debug log into env.Logs and into a stamped log.
func (w *world) spawn(name string, env *testenv.Env) *child {
	w.t.Helper()
	cmd := exec.Command(testenv.Binary(w.t), "run", "--config", env.ConfigPath, "--log-format", "json", "--log-level", "debug")
	cmd.Env = append(os.Environ(), "MAPBOX_ACCESS_TOKEN="+testenv.Token)
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), log: &stamped{}}
	pr, pw, err := os.Pipe()
	if err != nil {
		w.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	pw.Close()
	var reading sync.WaitGroup
	reading.Go(func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			env.Logs.Write([]byte(line + "\n"))
			c.log.add(line)
		}
		pr.Close()
	})
	go func() { cmd.Wait(); reading.Wait(); close(c.done) }()
	w.t.Cleanup(c.kill)
	return c
}

// kill sends SIGKILL and waits until the process is gone and its output read.
func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// stamped is a log whose lines carry the time they arrived.
type stamped struct {
	mu    sync.Mutex
	lines []stampedLine
}

type stampedLine struct {
	at   time.Time
	text string
}

func (s *stamped) add(line string) {
	s.mu.Lock()
	s.lines = append(s.lines, stampedLine{time.Now(), line})
	s.mu.Unlock()
}

// after returns the lines that arrived at or after t.
func (s *stamped) after(t time.Time) []stampedLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []stampedLine
	for _, l := range s.lines {
		if !l.at.Before(t) {
			out = append(out, l)
		}
	}
	return out
}
