package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

// Fleet is the fleet section of a node's configuration: Redis at URL, this
// node's name, the group, and the lease's time to live (0: the default).
func Fleet(url, node, group string, leaseTTL time.Duration) string {
	s := fmt.Sprintf("fleet:\n  redis: %s\n  node: %s\n  group: %s\n", url, node, group)
	if leaseTTL > 0 {
		s += fmt.Sprintf("  lease_ttl: %s\n", leaseTTL)
	}
	return s
}

// Node is another tilesyncd on e's account: the same simulator and S3
// store, with a folder, state database, configuration and log of its own
// (o as for New; o.Sim and o.Storage are e's). o.Drop may name e's drop
// folder: two nodes watching one shared folder. The token check and the
// log's tail on failure are as for New.
func (e *Env) Node(name string, o Options) *Env {
	tb := e.TB
	tb.Helper()
	n := &Env{TB: tb, Srv: e.Srv, Storage: e.Storage, Dir: filepath.Join(e.Dir, "node-"+name), Logs: &testkit.Buffer{}}
	if err := os.MkdirAll(n.Dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	n.Drop = o.Drop
	if n.Drop == "" {
		n.Drop = filepath.Join(n.Dir, "drop")
		if err := os.Mkdir(n.Drop, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	n.StatePath = o.StatePath
	if n.StatePath == "" {
		n.StatePath = filepath.Join(n.Dir, "state", "state.db")
	}
	n.ConfigPath = filepath.Join(n.Dir, "config.yaml")
	n.WriteConfig(n.yaml(o))
	tb.Cleanup(func() {
		if strings.Contains(n.Logs.String(), Token) {
			tb.Errorf("the token appears in node %s's log", name)
		}
		if tb.Failed() {
			keep := filepath.Join(os.TempDir(), "tilesyncd-"+strings.ReplaceAll(tb.Name(), "/", "-")+"-"+name+".log")
			if err := os.WriteFile(keep, []byte(n.Logs.String()), 0o644); err == nil {
				tb.Logf("node %s's whole log is in %s", name, keep)
			}
			tb.Logf("node %s's log (tail):\n%s", name, testkit.Tail(n.Logs.String(), 40))
		}
	})
	return n
}
