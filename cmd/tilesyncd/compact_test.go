package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// TestCompactRefusesBesideTheDaemon: compact refuses while another process
// holds the state database (the daemon), saying what to do, and compacts
// once it is free.
func TestCompactRefusesBesideTheDaemon(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "drop"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	yaml := "mapbox: {username: acme}\nstate: {path: state.db}\nwatch:\n  - path: drop\nrules:\n  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "compact", "--config", cfgPath); code == 0 || !strings.Contains(stderr, "no state database") {
		t.Fatalf("compact without a database: exit %d, %q", code, stderr)
	}
	held, err := state.Open(filepath.Join(dir, "state.db"), state.Options{AllowNetworkFS: true, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "compact", "--config", cfgPath); code == 0 || !strings.Contains(stderr, "stop it first") {
		t.Fatalf("compact beside the daemon: exit %d, %q", code, stderr)
	}
	held.Close()
	if code, stdout, stderr := runCLI(t, "compact", "--config", cfgPath); code != 0 || !strings.Contains(stdout, "compacted") {
		t.Fatalf("compact: exit %d, %q %q", code, stdout, stderr)
	}
}
