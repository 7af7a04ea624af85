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

// Names a drop-folder writer may choose to rewrite an operator's terminal:
// an escape sequence that clears the screen, one that sets the window title,
// and a newline that forges a line of output.
var hostileNames = []struct{ raw, shown string }{
	{"a\x1b[2Jb.geojson", `a\x1b[2Jb.geojson`},
	{"x\ny.geojson", `x\ny.geojson`},
	{"t\x1b]0;pwned\x07.docx", `t\x1b]0;pwned\a.docx`}, // strconv.Quote spells BEL \a
}

// writeHostile creates the hostile files, and one with a Cyrillic name that
// must stay readable, in drop.
func writeHostile(t *testing.T, drop string) {
	t.Helper()
	for i, n := range append([]string{"дороги.geojson"}, hostileRaw()...) {
		content := fmt.Sprintf(`{"type":"FeatureCollection","features":[],"n":%d}`, i)
		if err := os.WriteFile(filepath.Join(drop, n), []byte(content), 0o644); err != nil {
			t.Skipf("this file system refuses the name %q: %v", n, err)
		}
	}
}

func hostileRaw() []string {
	var names []string
	for _, n := range hostileNames {
		names = append(names, n.raw)
	}
	return names
}

// terminalSafe fails t if out holds a raw control character other than a
// newline, or a hostile name as it is, or lacks a name escaped (with the
// kinds of output that list the name: wantShown).
func terminalSafe(t *testing.T, what, out string, wantShown ...string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
			t.Errorf("%s shows the control character %q raw:\n%s", what, r, out)
			break
		}
	}
	for _, n := range hostileRaw() {
		if strings.Contains(out, n) {
			t.Errorf("%s shows the name %q raw", what, n)
		}
	}
	for _, s := range wantShown {
		if !strings.Contains(out, s) {
			t.Errorf("%s lacks %s:\n%s", what, s, out)
		}
	}
}

func TestPlanEscapesNames(t *testing.T) {
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	if err := os.Mkdir(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "tilesyncd.yaml")
	cfg := "mapbox:\n  username: acme\nstate:\n  path: state/state.db\ncontrol:\n  listen: \"off\"\nwatch:\n  - path: drop\nrules:\n  - match: \"**\"\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	writeHostile(t, drop)
	code, out, errOut := runCLI(t, "plan", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	terminalSafe(t, "plan", out+errOut, "upload    дороги.geojson", "upload    "+hostileNames[0].shown, "upload    "+hostileNames[1].shown,
		"refused   "+hostileNames[2].shown+": unsupported type .docx")
	t.Logf("plan:\n%s", out)
}

func TestStatusEscapesNames(t *testing.T) {
	e := newStatusEnv(t)
	d, _ := e.start()
	writeHostile(t, e.drop)
	statusWait(t, "the uploads", func() bool {
		return d.Syncer().Stats().Uploaded.Load() == 3 && d.Intake().Stats().Refused.Load() == 1
	})
	code, out, errOut := runCLI(t, "status", "--config", e.cfgPath)
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	terminalSafe(t, "status", out+errOut, "дороги.geojson", hostileNames[0].shown, hostileNames[1].shown,
		hostileNames[2].shown+": unsupported type .docx")
	t.Logf("status:\n%s", out)
}

// The text log of sync --once (the handler a terminal gets) escapes names.
func TestTextLogEscapesNames(t *testing.T) {
	srv, store := mapboxsim.StartMem(t, mapboxsim.Options{Username: "acme", Token: runTestToken, ProcessingTime: 50 * time.Millisecond})
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	if err := os.Mkdir(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "tilesyncd.yaml")
	cfg := fmt.Sprintf("mapbox:\n  username: acme\n  api_url: %s\n  s3_endpoint: %s\nstate:\n  path: state/state.db\ncontrol:\n  listen: \"off\"\nwatch:\n  - path: drop\nrules:\n  - match: \"**\"\n",
		srv.URL(), store.Endpoint())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAPBOX_ACCESS_TOKEN", runTestToken)
	writeHostile(t, drop)
	code, out, errOut := runCLI(t, "sync", "--once", "--config", cfgPath, "--log-format", "text")
	if code != 1 || !strings.Contains(out, "uploaded 3") || !strings.Contains(out, "refused 1") {
		t.Fatalf("sync: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	terminalSafe(t, "the text log", errOut, "дороги.geojson", hostileNames[0].shown, hostileNames[1].shown, hostileNames[2].shown)
	terminalSafe(t, "sync's summary", out)
	t.Logf("log:\n%s", errOut)
}
