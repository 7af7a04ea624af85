package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestSyncPlanRetryForget drives the commands a cron user and an operator
// use: sync --once, plan (which then says unchanged), retry and forget.
func TestSyncPlanRetryForget(t *testing.T) {
	srv, store := mapboxsim.StartMem(t, mapboxsim.Options{Username: "acme", Token: runTestToken, ProcessingTime: 100 * time.Millisecond})
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	os.Mkdir(drop, 0o755)
	cfgPath := filepath.Join(dir, "tilesyncd.yaml")
	cfg := fmt.Sprintf("mapbox:\n  username: acme\n  api_url: %s\n  s3_endpoint: %s\nstate:\n  path: state/state.db\ncontrol:\n  listen: \"off\"\nwatch:\n  - path: drop\nrules:\n  - match: \"*.geojson\"\n",
		srv.URL(), store.Endpoint())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAPBOX_ACCESS_TOKEN", runTestToken)
	os.WriteFile(filepath.Join(drop, "good.geojson"), []byte(`{"good":1}`), 0o644)
	os.WriteFile(filepath.Join(drop, "bad.geojson"), []byte(`{"bad":1}`), 0o644)
	srv.SetOutcome("acme.bad", "Tileset is empty.")

	code, out, errOut := runCLI(t, "sync", "--once", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, "uploaded 1") || !strings.Contains(out, "Tileset is empty.") {
		t.Fatalf("sync: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "plan", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "good.geojson: unchanged") || !strings.Contains(out, "bad.geojson: failed: ") {
		t.Errorf("plan after sync: exit %d\n%s", code, out)
	}

	// retry --failed sends the failed file again, as it is.
	srv.SetOutcome("acme.bad", "")
	code, out, errOut = runCLI(t, "retry", "--config", cfgPath, "--failed")
	if code != 0 || !strings.Contains(out, "queued again") {
		t.Fatalf("retry: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "sync", "--once", "--config", cfgPath, "--json"); code != 0 || !strings.Contains(out, `"uploaded":1`) {
		t.Errorf("sync after retry: exit %d: %s", code, out)
	}

	// forget sends an unchanged file again.
	if code, out, errOut := runCLI(t, "forget", "--config", cfgPath, filepath.Join(drop, "good.geojson")); code != 0 {
		t.Fatalf("forget: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "plan", "--config", cfgPath); !strings.Contains(out, "upload    good.geojson") {
		t.Errorf("plan after forget: exit %d\n%s", code, out)
	}
	before := len(srv.Uploads())
	if code, out, _ := runCLI(t, "sync", "--once", "--config", cfgPath); code != 0 || len(srv.Uploads()) != before+1 {
		t.Errorf("sync after forget: exit %d, %d new uploads: %s", code, len(srv.Uploads())-before, out)
	}

	// Usage mistakes.
	if code, _, errOut := runCLI(t, "retry", "--config", cfgPath); code != 2 || !strings.Contains(errOut, "--failed") {
		t.Errorf("retry with nothing named: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "sync", "--config", cfgPath); code != 2 || !strings.Contains(errOut, "--once") {
		t.Errorf("sync without --once: exit %d, %s", code, errOut)
	}
}

// adopt records files as uploaded without a request: after it, a sync sends
// nothing for them.
func TestAdopt(t *testing.T) {
	srv, store := mapboxsim.StartMem(t, mapboxsim.Options{Username: "acme", Token: runTestToken})
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	os.Mkdir(drop, 0o755)
	cfgPath := filepath.Join(dir, "tilesyncd.yaml")
	cfg := fmt.Sprintf("mapbox:\n  username: acme\n  api_url: %s\n  s3_endpoint: %s\nstate:\n  path: state/state.db\ncontrol:\n  listen: \"off\"\nwatch:\n  - path: drop\nrules:\n  - match: \"*.geojson\"\n",
		srv.URL(), store.Endpoint())
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	os.WriteFile(filepath.Join(drop, "a.geojson"), []byte(`{"a":1}`), 0o644)
	os.WriteFile(filepath.Join(drop, "b.geojson"), []byte(`{"b":1}`), 0o644)
	os.WriteFile(filepath.Join(drop, "notes.txt"), []byte(`x`), 0o644)
	t.Setenv("MAPBOX_ACCESS_TOKEN", runTestToken)

	code, out, errOut := runCLI(t, "adopt", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "2 file(s) adopted") {
		t.Fatalf("adopt: exit %d\n%s%s", code, out, errOut)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("adopt sent %d API requests", n)
	}
	os.WriteFile(filepath.Join(drop, "b.geojson"), []byte(`{"b":2}`), 0o644)
	code, out, _ = runCLI(t, "sync", "--once", "--config", cfgPath)
	if code != 0 || len(srv.Uploads()) != 1 || srv.Uploads()[0].Tileset != "acme.b" {
		t.Errorf("sync after adopt: exit %d, uploads %+v\n%s", code, srv.Uploads(), out)
	}
}
