package fleettest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestSharedBudget: three nodes on one account, each with its own folder,
// against an account limit of 30 requests per 3 s. On one shared budget
// they never meet a 429, and every file arrives once.
func TestSharedBudget(t *testing.T) {
	w := newWorld(t, worldOptions{sim: mapboxsim.Options{RateLimit: 30, RateWindow: 3 * time.Second, ProcessingTime: 500 * time.Millisecond}})
	var nodes []*proc
	for _, name := range []string{"a", "b", "c"} {
		env := w.node(name, nodeOptions{perMinute: 600})
		w.drop(env.Drop, name, 12, 2000)
		nodes = append(nodes, w.run(name, env))
	}
	idle := func() bool {
		for _, p := range nodes {
			if !p.idle() {
				return false
			}
		}
		return true
	}
	w.converge("shared budget, three nodes", 2*time.Minute, idle)
	if n := w.status(429); n != 0 {
		t.Errorf("%d answers 429 on one shared budget, want none", n)
	}
	for _, p := range nodes {
		st := p.D.Budget().Stats()
		if !st.Shared || st.Nodes != 3 || st.Fallback {
			t.Errorf("node %s's budget: shared %v, %d nodes, fallback %v; want shared by 3", p.name, st.Shared, st.Nodes, st.Fallback)
		}
	}
	t.Log(fmt.Sprintf("%d requests in all", w.base.Requests()))
}

// status counts the simulator's answers with this status code.
func (w *world) status(code int) int {
	n := 0
	for _, byStatus := range w.base.Srv.StatusCounts() {
		n += byStatus[code]
	}
	return n
}
