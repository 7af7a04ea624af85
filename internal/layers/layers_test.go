package layers

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tilesyncd/tilesyncd/"

// levels are ARCHITECTURE.md's lines, top first. A package may import only
// packages on lower lines; a package not listed is free (leaf helpers such
// as terminal, examples, packaging, and new packages until they are placed).
var levels = [][]string{
	{"cmd/tilesyncd"},
	{"daemon"},
	{"control", "intake", "syncer", "notify", "fleet"},
	{"plan", "state", "mapbox/staging", "mapbox/ratelimit", "internal/console"},
	{"watcher", "mapbox", "convert", "convert/changeset"},
	{"format", "fstype", "config", "internal/clock", "terminal"},
}

// fakes may be imported by tests only (mapboxsim by the demo too).
var fakes = map[string]bool{"mapboxsim": true, "internal/miniotest": true, "internal/testenv": true,
	"internal/testkit": true, "internal/redistest": true, "state/statetest": true, "mapboxsim/storagetest": true, "fleet/fleettest": true, "internal/testdaemon": true}

// suites are test suites with code of their own (a proxy, a ledger).
var suites = map[string]bool{"chaos": true, "convergence": true, "bench": true, "internal/layers": true}

func TestImportGraph(t *testing.T) {
	level := map[string]int{}
	for i, l := range levels {
		for _, p := range l {
			level[p] = i
		}
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...")
	cmd.Dir = "../.."
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(fields[0], module)
		if fakes[pkg] || suites[pkg] {
			continue // test helpers and suites may import what they need
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if fakes[dep] && !(dep == "mapboxsim" && pkg == "cmd/tilesyncd") {
				t.Errorf("%s imports the test fake %s", pkg, dep)
			}
			li, okp := level[pkg]
			ld, okd := level[dep]
			if okp && okd && ld <= li {
				t.Errorf("%s (line %d) imports %s (line %d): imports must point down ARCHITECTURE.md's list", pkg, li+1, dep, ld+1)
			}
		}
	}
}
