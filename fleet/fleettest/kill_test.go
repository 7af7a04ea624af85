package fleettest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestSIGKILLSharedFolder runs two real binaries on one shared folder and
// kills a node that holds a lease with SIGKILL, right after the simulator
// answered a credentials request (mid-staging) or a create (mid-create,
// its answer maybe not yet recorded), then starts it again; new files and
// new versions arrive meanwhile. Every content must be created once, and
// every tileset end with its file's bytes. CI: 4 kills; full: 20.
func TestSIGKILLSharedFolder(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("TILESYNCD_FLEET_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (the victims; replay with TILESYNCD_FLEET_SEED=%d; the kills' moments follow the nodes)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 15))
	w := newWorld(t, worldOptions{sim: mapboxsim.Options{ProcessingTime: 500 * time.Millisecond}})
	envs := map[string]*testenv.Env{}
	nodes := map[string]*child{}
	for _, name := range []string{"a", "b"} {
		envs[name] = w.node(name, nodeOptions{shared: true})
		nodes[name] = w.spawn(name, envs[name])
	}
	// Files of 1 MB: staging takes long enough that a kill right after the
	// credentials answer lands in it, rather than between the intent and
	// the create (which the next holder waits CreateQuiet, a minute, to
	// resolve when nothing was created).
	const size = 1 << 20
	w.drop(w.base.Drop, "k", 8, size)
	rounds := 4
	if full() {
		rounds = 20
	}
	for round := range rounds {
		w.drop(w.base.Drop, fmt.Sprintf("r%02d-", round), 3, size)
		ep := mapbox.EndpointCredentials
		if round%2 == 1 {
			ep = mapbox.EndpointCreate
		}
		if !w.awaitRequest(ep, 30*time.Second) {
			t.Fatalf("round %d: no %s request came", round, ep)
		}
		victim := w.working(rng)
		nodes[victim].kill()
		t.Logf("round %d: killed %s after a %s request", round, victim, ep)
		if round%3 == 2 { // a file it may have been working on changes while it is down
			w.write(w.base.Drop, fmt.Sprintf("k%04d", round%8), 2+round, size)
		}
		nodes[victim] = w.spawn(victim, envs[victim])
	}
	w.converge(fmt.Sprintf("sigkill x%d, shared folder", rounds), 3*time.Minute, nil)
}

// awaitRequest waits until the simulator has answered one more request to
// ep than now, checking every millisecond, and reports whether it did.
func (w *world) awaitRequest(ep mapbox.Endpoint, timeout time.Duration) bool {
	count := func() int { return w.base.Srv.Counts()[ep] }
	before := count()
	deadline := time.Now().Add(timeout)
	for count() == before {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond) // a poll tick, not a wait for an event
	}
	return true
}

// working picks a node that holds a lease now, else either.
func (w *world) working(rng *rand.Rand) string {
	var holding []string
	seen := map[string]bool{}
	for _, n := range w.holders() {
		if !seen[n] {
			seen[n] = true
			holding = append(holding, n)
		}
	}
	if len(holding) == 0 {
		holding = []string{"a", "b"}
	}
	return holding[rng.IntN(len(holding))]
}
