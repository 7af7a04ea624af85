package fleettest

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestStatusShowsTheFleet reads a node's /status and /metrics while two
// nodes share a folder and uploads take a while: the nodes alive, the
// leases and their holders, the jobs waiting for the other node, the
// shared budget, the fleet's counters; never the Redis password or the
// token.
func TestStatusShowsTheFleet(t *testing.T) {
	w := newWorld(t, worldOptions{sim: mapboxsim.Options{ProcessingTime: 3 * time.Second}})
	a := w.run("a", w.node("a", nodeOptions{shared: true}))
	b := w.run("b", w.node("b", nodeOptions{shared: true}))
	w.drop(w.base.Drop, "st", 4, 2000)
	srv, err := control.New(control.Options{Source: a.D})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost"+path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		body := rec.Body.String()
		if strings.Contains(body, password) || strings.Contains(body, testenv.Token) {
			t.Fatalf("GET %s shows a secret:\n%s", path, body)
		}
		return body
	}
	var st control.Status
	testkit.WaitFor(t, "a status with two nodes, leases, and a job waiting", 30*time.Second, func() bool {
		if err := json.Unmarshal([]byte(get("/status")), &st); err != nil || st.Fleet == nil {
			t.Fatalf("status: %v %+v", err, st)
		}
		return len(st.Fleet.Nodes) == 2 && len(st.Fleet.Leases) > 0 && len(st.Fleet.Waiting) > 0
	})
	f := st.Fleet
	if !f.Reachable || f.Node != "a" || f.Group != group || !strings.HasPrefix(f.RedisVersion, "7.") || f.Redis != w.redis.URL() {
		t.Errorf("fleet status: %+v", f)
	}
	if b := st.Budget; !b.Shared || b.Nodes != 2 || b.Fallback {
		t.Errorf("budget status: %+v, want shared by 2", b)
	}
	holder := map[string]string{}
	for _, l := range f.Leases {
		holder[l.Tileset] = l.Node
		if l.Node != "a" && l.Node != "b" || l.Token < 1 || l.ExpiresSeconds <= 0 {
			t.Errorf("lease %+v", l)
		}
	}
	for _, ts := range f.Claimed {
		if holder[ts] != "a" {
			t.Errorf("a claims %s, whose lease status shows held by %q", ts, holder[ts])
		}
	}
	if !strings.Contains(f.Waiting[0].Reason, "held by b") {
		t.Errorf("a's waits %+v, want them held by b", f.Waiting)
	}
	metrics := get("/metrics")
	for _, m := range []string{"tilesyncd_fleet_budget_waits_total", "tilesyncd_fleet_lease_takeovers_total 0", "tilesyncd_fleet_fallbacks_total 0",
		"tilesyncd_fleet_redis_reachable 1", "tilesyncd_fleet_leases_held", "tilesyncd_fleet_waiting_jobs"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
	w.converge("status while shared", time.Minute, func() bool { return a.idle() && b.idle() })
}
