package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/fleet"
	"github.com/tilesyncd/tilesyncd/internal/redistest"
)

const fleetPassword = "check-REDIS-password-51f0"

// TestCheckFleet: with a fleet section, check reaches Redis and reports its
// version, the nodes alive (not itself) and the shared limit; with Redis
// gone it fails, naming the fleet. The password shows nowhere.
func TestCheckFleet(t *testing.T) {
	e := newStatusEnv(t)
	srv := redistest.Start(t, redistest.Options{Password: fleetPassword})
	pw := filepath.Join(e.dir, "redis-password")
	if err := os.WriteFile(pw, []byte(fleetPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("fleet", statusToken)
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("fleet:\n  redis: " + srv.URL() + "\n  password_file: " + pw + "\n  node: n1\n  group: acme\n")
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	worker, err := fleet.Open(ctx, fleet.Options{URL: srv.URL(), Password: fleetPassword, Node: "worker", Group: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()

	code, out, errOut := runCLI(t, "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "Fleet:         "+srv.URL()+": Redis 7.") || !strings.Contains(out, "nodes alive  1: worker (seen") ||
		!strings.Contains(out, "shared limit none learned yet") || strings.Contains(out, "check.n1") {
		t.Errorf("check with a fleet: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("check output:\n%s", out)
	srv.Kill()
	code, out, errOut = runCLI(t, "check", "--config", cfg)
	if code != 1 || !strings.Contains(out, "Fleet:         FAILED: fleet: Redis at "+srv.URL()+" does not answer") {
		t.Errorf("check with Redis gone: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, fleetPassword) {
		t.Errorf("check shows the Redis password")
	}
}

// TestPrintFleet prints a fleet's status, escaping what a name may carry.
func TestPrintFleet(t *testing.T) {
	var b strings.Builder
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f := &control.Fleet{Node: "n1", Group: "acme", Redis: "redis://r:6379/0", RedisVersion: "7.0.15", Reachable: false,
		Error: "fleet: heartbeat on Redis at redis://r:6379/0: EOF", LimitFrom: "n2",
		Nodes:  []control.FleetNode{{Name: "n1", SeenSeconds: 1}, {Name: "n2", SeenSeconds: 2.5}},
		Leases: []control.FleetLease{{Tileset: "acme.\x1b[2Jroads", Node: "n2", Token: 7, HeldSeconds: 12, ExpiresSeconds: 18}},
		Waiting: []control.FleetWait{{JobID: 4, Tileset: "acme.roads", Reason: "another node of the fleet works on the tileset: held by n2",
			Since: now.Add(-time.Minute)}},
		Counters: control.FleetCounters{BudgetWaits: 3, Takeovers: 1, Fallbacks: 2}}
	printFleet(&b, f, &control.Budget{Limit: 30, WindowSeconds: 60, Spacing: 6, Shared: true, Fallback: true, Nodes: 2}, now)
	out := b.String()
	for _, want := range []string{
		"Fleet:        node n1 of group acme, Redis redis://r:6379/0 (version 7.0.15): UNREACHABLE, shared folders wait: fleet: heartbeat",
		"budget      shared by 2 node(s): 30 requests per 1m0s (learned from Mapbox by n2); Redis unreachable: this node spends its share alone, one request every 6s",
		"nodes       n1 (seen 1s ago), n2 (seen 2.5s ago)",
		`lease       acme.\x1b[2Jroads: node n2, token 7, held 12s, expires in 18s unless renewed`,
		"waiting     #4 acme.roads since ",
		"counters    3 waits for the shared budget, 1 lease takeovers, 2 fallbacks",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("printFleet lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("printFleet printed an escape sequence")
	}
	b.Reset()
	printFleet(&b, nil, nil, now)
	if b.Len() != 0 {
		t.Errorf("printFleet without a fleet printed %q", b.String())
	}
}
