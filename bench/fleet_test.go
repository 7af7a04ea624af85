package bench

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/tilesyncd/tilesyncd/internal/redistest"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// BenchmarkFleetBudget measures fleet mode's first figure (issue 15):
// three daemons on one account at 30 requests a minute, 60 s processing,
// 150 files split among them, on the fleet's shared budget (a real
// redis-server), beside the same three each on its own budget in the same
// run. Under -short every time (window, processing, poll pace, backoff) is
// divided by ten.
func BenchmarkFleetBudget(b *testing.B) {
	scale := time.Duration(1)
	if short() {
		scale = 10
	}
	srv := redistest.Start(b, redistest.Options{})
	var shared, alone fleetRun
	var wg sync.WaitGroup
	wg.Go(func() { shared = runThree(b, scale, srv.URL()) })
	wg.Go(func() { alone = runThree(b, scale, "") })
	wg.Wait()
	minutes := func(d time.Duration) float64 { return d.Minutes() * float64(scale) }
	line("8. three daemons on one account at 30 requests/min, 60 s processing, 150 files: fleet mode %.2f uploads/min steady (10th→90th create), %.2f overall (%d uploads in %.1f min), %d × 429 — each on its own budget %.2f steady, %.2f overall, %d × 429 — ceiling 15; target ≥ 14.25 (95 %%): %s, zero 429s: %s",
		shared.steady(scale), float64(shared.uploads)/minutes(shared.took), shared.uploads, minutes(shared.took), shared.tooMany,
		alone.steady(scale), float64(alone.uploads)/minutes(alone.took), alone.tooMany,
		verdict(shared.steady(scale) >= 14.25), verdict(shared.tooMany == 0))
	b.ReportMetric(shared.steady(scale), "fleet-uploads/min")
	b.ReportMetric(float64(shared.tooMany), "fleet-429s")
	b.ReportMetric(float64(alone.tooMany), "alone-429s")
}

// BenchmarkFleetTakeover measures fleet mode's second figure: two daemons
// (the real binary) on one shared folder, 20 SIGKILLs of the one working:
// duplicate creates, and the takeover time, from the kill to the other
// node's first request for the tileset it held, against the lease's time to
// live (30 s; 3 s under -short).
func BenchmarkFleetTakeover(b *testing.B) {
	scale := time.Duration(1)
	if short() {
		scale = 10
	}
	srv := redistest.Start(b, redistest.Options{})
	k := runKills(b, scale, srv)
	ttl := 30 * time.Second / scale
	line("9. two daemons on one shared folder, %d SIGKILLs of the working one: %d duplicate creates (%d files); takeover (kill → the other node's first request for the tileset) median %.1f s, worst %.1f s, over %d takeovers; lease %.0f s — target 0 duplicates: %s, worst ≤ lease + 5 s: %s",
		k.kills, k.duplicates, k.files, percentile(k.takeovers, 0.5).Seconds(), percentile(k.takeovers, 1).Seconds(), len(k.takeovers),
		ttl.Seconds(), verdict(k.duplicates == 0), verdict(len(k.takeovers) > 0 && percentile(k.takeovers, 1) <= ttl+5*time.Second))
	b.ReportMetric(float64(k.duplicates), "duplicates")
	b.ReportMetric(percentile(k.takeovers, 1).Seconds(), "worst-takeover-s")
}

// fleetRun is one run of three daemons.
type fleetRun struct {
	uploads, tooMany int
	took             time.Duration
	creates          []time.Time
}

// steady is the successful creates a minute between the 10th and the 90th.
func (r fleetRun) steady(scale time.Duration) float64 {
	c := r.creates
	if len(c) < 20 {
		return 0
	}
	lo, hi := len(c)/10, len(c)*9/10
	return float64(hi-lo) / (c[hi].Sub(c[lo]).Minutes() * float64(scale))
}

// runThree syncs 150 files, 50 in each of three daemons' folders, against
// one simulated account limited to 30 requests per window (60 s / scale):
// on the fleet's shared budget when redisURL is set, else each daemon on
// its own. The daemons run SyncOnce at once, with production settings but
// for the poll pace and backoff, which scale divides.
func runThree(b *testing.B, scale time.Duration, redisURL string) fleetRun {
	window := time.Minute / scale
	perMinute := int(30 * time.Minute / window)
	base := testenv.New(b, testenv.Options{PerMinute: perMinute, Mode: "poll", Settle: "1s", PollInterval: "none",
		Sim: mapboxsim.Options{ProcessingTime: time.Minute / scale, RateLimit: 30, RateWindow: window}})
	var ds []*daemon.Daemon
	for _, name := range []string{"a", "b", "c"} {
		o := testenv.Options{PerMinute: perMinute, Mode: "poll", Settle: "1s", PollInterval: "none"}
		if redisURL != "" {
			o.Extra = testenv.Fleet(redisURL, name, "bench", 30*time.Second/scale)
		}
		env := base.Node(name, o)
		dropSmall(b, env.Drop, name, 50)
		ds = append(ds, (&setup{env}).open(b, scale, nil))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() {
			defer d.Close()
			syncOnce(b, d, 2*time.Hour)
		})
	}
	wg.Wait()
	r := fleetRun{took: time.Since(start), tooMany: (&setup{base}).status(429)}
	for _, u := range base.Srv.Uploads() {
		if u.Error == "" {
			r.uploads++
		}
	}
	for _, q := range base.Srv.Requests() {
		if q.Endpoint == mapbox.EndpointCreate && q.Status == 201 {
			r.creates = append(r.creates, q.Time)
		}
	}
	return r
}

// killRun is the result of the SIGKILL rounds.
type killRun struct {
	kills, files, duplicates int
	takeovers                []time.Duration
}

// runKills runs two binaries on one shared folder; each round drops a file
// of 1 MB, waits until a node holds its tileset and the simulator answered
// its credentials request (even rounds: mid-staging) or its create (odd
// rounds: mid-create), kills that node with SIGKILL, and waits for the
// other node's first API request after it took the tileset over; then it
// starts the killed node again.
func runKills(b *testing.B, scale time.Duration, srv *redistest.Server) killRun {
	ttl := 30 * time.Second / scale
	// Notify mode: both nodes see each file within its settle time, so the
	// figure is the takeover's, not a poll's wait for the file.
	base := testenv.New(b, testenv.Options{Mode: "notify", Settle: "1s", PollInterval: "none",
		Sim: mapboxsim.Options{ProcessingTime: 20 * time.Second / scale}})
	nodes := map[string]*benchChild{}
	envs := map[string]*testenv.Env{}
	for _, name := range []string{"a", "b"} {
		envs[name] = base.Node(name, testenv.Options{Drop: base.Drop, Shared: true, Mode: "notify", Settle: "1s", PollInterval: "none",
			Extra: testenv.Fleet(srv.URL(), name, "kills", ttl)})
		nodes[name] = spawnLogged(b, envs[name])
	}
	rc := srv.Client()
	run := killRun{kills: 20}
	for round := range run.kills {
		stem := fmt.Sprintf("k%04d", round)
		data := strings.Repeat(fmt.Sprintf(`{"type":"FeatureCollection","features":[],"n":%q}`, stem), 1<<20/60)
		if err := os.WriteFile(filepath.Join(base.Drop, stem+".geojson"), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
		run.files++
		ep := mapbox.EndpointCredentials
		if round%2 == 1 {
			ep = mapbox.EndpointCreate
		}
		tileset := "acme." + stem
		victim := awaitHolder(b, base.Srv, rc, "kills", tileset, ep)
		killed := time.Now()
		nodes[victim].kill()
		other := "a"
		if victim == "a" {
			other = "b"
		}
		if d, ok := nodes[other].firstRequestAfterTakeover(tileset, killed, ttl+time.Minute); ok {
			run.takeovers = append(run.takeovers, d)
		} else {
			b.Logf("round %d: node %s did not take %s over", round, other, tileset)
		}
		nodes[victim] = spawnLogged(b, envs[victim])
	}
	deadline := time.Now().Add(5*time.Minute + 3*ttl)
	for time.Now().Before(deadline) && !allHeld(base.Srv, run.files) {
		time.Sleep(100 * time.Millisecond) // a poll tick, not a wait for an event
	}
	seen := map[[2]string]int{}
	for _, u := range base.Srv.Uploads() {
		if seen[[2]string{u.Tileset, u.SHA256}]++; seen[[2]string{u.Tileset, u.SHA256}] > 1 {
			run.duplicates++
		}
	}
	for _, n := range nodes {
		n.kill()
	}
	return run
}

// allHeld reports whether the tilesets k0000… of n files all hold an upload.
func allHeld(srv *mapboxsim.Server, n int) bool {
	for i := range n {
		if _, ok := srv.Holds(fmt.Sprintf("acme.k%04d", i)); !ok {
			return false
		}
	}
	return true
}

// awaitHolder waits until a node holds the tileset's lease and then until
// the simulator has answered one more request to ep (at most a minute), and
// returns the node holding the lease then.
func awaitHolder(b *testing.B, srv *mapboxsim.Server, rc *redis.Client, group, tileset string, ep mapbox.Endpoint) string {
	b.Helper()
	key := "tilesyncd:{" + group + "}:lease:" + tileset
	holder := func() string {
		v, _ := rc.Get(context.Background(), key).Result()
		_, node, _ := strings.Cut(v, "@")
		return node
	}
	deadline := time.Now().Add(time.Minute)
	for holder() == "" {
		if time.Now().After(deadline) {
			b.Fatalf("no node took %s", tileset)
		}
		time.Sleep(time.Millisecond) // a poll tick, not a wait for an event
	}
	before := srv.Counts()[ep]
	for srv.Counts()[ep] == before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a poll tick, not a wait for an event
	}
	if h := holder(); h != "" {
		return h
	}
	return "a"
}

// benchChild is `tilesyncd run` in a process of its own, its JSON debug log
// kept with the time each line arrived.
type benchChild struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  []benchLine
}

type benchLine struct {
	at   time.Time
	text string
}

// spawnLogged starts the binary on env's configuration.
func spawnLogged(b *testing.B, env *testenv.Env) *benchChild {
	b.Helper()
	c := &benchChild{done: make(chan struct{})}
	c.cmd = exec.Command(testenv.Binary(b), "run", "--config", env.ConfigPath, "--log-format", "json", "--log-level", "debug")
	c.cmd.Env = append(os.Environ(), "MAPBOX_ACCESS_TOKEN="+testenv.Token)
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.log = append(c.log, benchLine{time.Now(), sc.Text()})
			c.mu.Unlock()
		}
		c.cmd.Wait()
		close(c.done)
	}()
	b.Cleanup(c.kill)
	return c
}

func (c *benchChild) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// firstRequestAfterTakeover waits (at most timeout) for the node to log
// that it took the tileset over after since, then for its next API request,
// and returns how long after since that request went out.
func (c *benchChild) firstRequestAfterTakeover(tileset string, since time.Time, timeout time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		took := false
		c.mu.Lock()
		for _, l := range c.log {
			if l.at.Before(since) {
				continue
			}
			var e struct {
				Msg string `json:"msg"`
				Job struct {
					Tileset string `json:"tileset"`
				} `json:"job"`
			}
			if json.Unmarshal([]byte(l.text), &e) != nil {
				continue
			}
			switch {
			case strings.HasPrefix(e.Msg, "took the tileset over") && e.Job.Tileset == tileset:
				took = true
			case took && e.Msg == "mapbox request":
				c.mu.Unlock()
				return l.at.Sub(since), true
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond) // a poll tick, not a wait for an event
	}
	return 0, false
}
