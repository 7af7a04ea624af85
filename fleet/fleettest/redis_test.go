package fleettest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestRedisKilled kills the fleet's Redis while two nodes work on a shared
// folder (one of them also watches a folder of its own), and restarts it
// with its data, or empty. While it is down the shared folder's new files
// wait (fail closed, and status says why) and the local folder's go on;
// afterwards everything converges, nothing created twice: without its data
// the ledger is empty, and each node vouches for the uploads it made.
func TestRedisKilled(t *testing.T) {
	for _, keep := range []bool{true, false} {
		name := "restarted empty"
		if keep {
			name = "restarted with its data"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, worldOptions{sim: mapboxsim.Options{ProcessingTime: 1500 * time.Millisecond}})
			ea := w.node("a", nodeOptions{shared: true, local: true})
			a, b := w.run("a", ea), w.run("b", w.node("b", nodeOptions{shared: true}))
			w.drop(w.base.Drop, "s", 12, 2000)
			testkit.WaitFor(t, "four uploads", 30*time.Second, func() bool { return len(w.base.Srv.Uploads()) >= 4 })
			w.redis.Kill()
			w.whileDown(a, ea, "Redis killed")
			w.redis.Restart(keep)
			w.converge("redis killed, "+name, 2*time.Minute, func() bool { return a.idle() && b.idle() })
		})
	}
}

// TestRedisPartition cuts both nodes off Redis behind a proxy (fast
// errors), then slows it down, then heals it.
func TestRedisPartition(t *testing.T) {
	w := newWorld(t, worldOptions{sim: mapboxsim.Options{ProcessingTime: time.Second}})
	proxy := w.redis.NewProxy()
	ea := w.node("a", nodeOptions{shared: true, local: true, redis: proxy.URL()})
	a, b := w.run("a", ea), w.run("b", w.node("b", nodeOptions{shared: true, redis: proxy.URL()}))
	w.drop(w.base.Drop, "s", 10, 2000)
	testkit.WaitFor(t, "three uploads", 30*time.Second, func() bool { return len(w.base.Srv.Uploads()) >= 3 })
	proxy.Partition()
	w.whileDown(a, ea, "Redis partitioned")
	if st := a.D.Budget().Stats(); !st.Fallback {
		t.Errorf("the budget does not say it fell back while Redis is cut off: %+v", st)
	}
	proxy.Heal()
	testkit.WaitFor(t, "node a to reach Redis again", 20*time.Second, func() bool {
		n, _ := a.D.FleetCounters()
		return n.Reachable
	})
	proxy.SetLatency(50 * time.Millisecond) // 100 ms a round trip: slow, within the nodes' timeout
	w.drop(w.base.Drop, "slow", 4, 2000)
	testkit.WaitFor(t, "the files sent while Redis is slow", time.Minute, func() bool {
		for _, ts := range []string{"acme.slow0000", "acme.slow0003"} {
			if _, ok := w.base.Srv.Holds(ts); !ok {
				return false
			}
		}
		return true
	})
	proxy.SetLatency(0)
	w.converge("redis partitioned, then slow", 2*time.Minute, func() bool { return a.idle() && b.idle() })
	if n := a.D.Budget().Stats(); n.Fallback {
		t.Errorf("still in fallback after the partition healed")
	}
}

// whileDown checks what holds while Redis cannot be reached: a's files of
// its own folder are sent (on its share of the budget), the shared
// folder's new files wait, and a's status says why.
func (w *world) whileDown(a *proc, ea *testenv.Env, what string) {
	w.t.Helper()
	testkit.WaitFor(w.t, "node a to find Redis unreachable", 20*time.Second, func() bool {
		n, _ := a.D.FleetCounters()
		return !n.Reachable
	})
	w.drop(w.base.Drop, "d", 3, 2000)
	w.drop(localDir(ea), "l", 3, 2000)
	testkit.WaitFor(w.t, "the local folder's files sent while "+what, time.Minute, func() bool {
		for _, ts := range []string{"acme.l0000", "acme.l0001", "acme.l0002"} {
			if _, ok := w.base.Srv.Holds(ts); !ok {
				return false
			}
		}
		return true
	})
	testkit.WaitFor(w.t, "the shared folder's new files to wait", 20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, j := range a.D.FleetStatus(ctx).Waiting {
			if strings.HasPrefix(j.Tileset, "acme.d") && strings.Contains(j.Reason, "unreachable") {
				return true
			}
		}
		return false
	})
	for _, u := range w.base.Srv.Uploads() {
		if strings.HasPrefix(u.Tileset, "acme.d") {
			w.t.Errorf("%s: a shared folder's file was sent while %s: %s", what, what, u.Tileset)
		}
	}
}

// TestStartWhileRedisDown: a node restarts while its fleet's Redis is
// down. It starts anyway, on its share of the budget (1/N, N the nodes it
// saw alive last time, kept in its state database), sends its own folder's
// files, holds the shared folder's, and joins the fleet when Redis answers.
func TestStartWhileRedisDown(t *testing.T) {
	w := newWorld(t, worldOptions{sim: mapboxsim.Options{ProcessingTime: time.Second}})
	ea := w.node("a", nodeOptions{shared: true, local: true})
	a, b := w.run("a", ea), w.run("b", w.node("b", nodeOptions{shared: true}))
	testkit.WaitFor(t, "node a to see both nodes", 20*time.Second, func() bool { return a.D.Budget().Stats().Nodes == 2 })
	a.stop()
	w.redis.Kill()
	a = w.run("a", ea)
	if st := a.D.Budget().Stats(); !st.Fallback || st.Nodes != 2 {
		t.Errorf("started while Redis is down: budget %+v, want fallback on 1/2 of it (the nodes seen last time)", st)
	}
	w.whileDown(a, ea, "started while Redis is down")
	w.redis.Restart(true)
	testkit.WaitFor(t, "node a to join the fleet", 20*time.Second, func() bool {
		n, _ := a.D.FleetCounters()
		return n.Reachable
	})
	w.converge("started while Redis is down", 2*time.Minute, func() bool { return a.idle() && b.idle() })
}
