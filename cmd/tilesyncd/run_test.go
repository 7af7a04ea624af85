package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapboxsim"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

const runTestToken = "sk.run-test-SECRET"

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, what, 30*time.Second, cond)
}

// TestRunReloads runs the daemon command, then edits its configuration: an
// invalid one is refused and the daemon carries on; a valid one takes effect.
func TestRunReloads(t *testing.T) {
	srv, store := mapboxsim.StartMem(t, mapboxsim.Options{Username: "acme", Token: runTestToken, ProcessingTime: 100 * time.Millisecond})
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	if err := os.Mkdir(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "tilesyncd.yaml")
	writeCfg := func(rules string) {
		cfg := fmt.Sprintf("mapbox:\n  username: acme\n  api_url: %s\n  s3_endpoint: %s\nstate:\n  path: state/state.db\ncontrol:\n  listen: \"off\"\nwatch:\n  - path: drop\n    settle: 100ms\nrules:\n%s",
			srv.URL(), store.Endpoint(), rules)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("  - match: \"*.geojson\"\n")
	t.Setenv("MAPBOX_ACCESS_TOKEN", runTestToken)
	var logs testkit.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runWith(ctx, cfgPath, &logOptions{format: "text", level: "info"}, &logs) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if strings.Contains(logs.String(), runTestToken) {
			t.Error("the token appears in the log")
		}
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	}()
	uploaded := func(ts string) func() bool {
		return func() bool {
			for _, u := range srv.Uploads() {
				if u.Tileset == ts {
					return true
				}
			}
			return false
		}
	}
	os.WriteFile(filepath.Join(drop, "a.geojson"), []byte(`{"a":1}`), 0o644)
	waitUntil(t, "a.geojson uploaded", uploaded("acme.a"))

	writeCfg("  - match: \"*.geojson\"\n    tileset: \"{username}.{nope}\"\n")
	waitUntil(t, "the invalid configuration refused", func() bool { return strings.Contains(logs.String(), "new configuration refused") })
	if !strings.Contains(logs.String(), "unknown placeholder {nope}") {
		t.Error("the refusal does not say why")
	}
	os.WriteFile(filepath.Join(drop, "b.geojson"), []byte(`{"b":1}`), 0o644)
	waitUntil(t, "b.geojson uploaded on the last good configuration", uploaded("acme.b"))

	writeCfg("  - match: \"*.geojson\"\n    tileset: \"{username}.new-{stem}\"\n")
	waitUntil(t, "the new configuration in force", func() bool { return strings.Contains(logs.String(), "configuration reloaded") })
	os.WriteFile(filepath.Join(drop, "c.geojson"), []byte(`{"c":1}`), 0o644)
	waitUntil(t, "c.geojson uploaded under the new rule", uploaded("acme.new-c"))
}
