package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testenv"
)

// slowEnv is a simulator whose S3 store reads at 8 MiB/s, so that a large
// file's staging shows its bar for a few seconds.
func slowEnv(t *testing.T) *testenv.Env {
	return testenv.New(t, testenv.Options{S3Endpoint: func(store string) string { return slowS3(t, store, 8<<20) }})
}

// writeLarge writes a GeoJSON file of about size bytes and moves it into
// the drop folder at once.
func writeLarge(t *testing.T, e *testenv.Env, name string, size int) {
	t.Helper()
	tmp := filepath.Join(e.Dir, name)
	if err := writeLines(tmp, size, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.Drop, name)); err != nil {
		t.Fatal(err)
	}
}

// checkLines fails the test for a pattern none of the transcript's rows
// matches, or for the token anywhere in it.
func checkLines(t *testing.T, transcript string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(transcript) {
			t.Errorf("no row matches %s", p)
		}
	}
	if strings.Contains(transcript, testenv.Token) {
		t.Error("the token shows")
	}
	if t.Failed() {
		t.Logf("the pane:\n%s", transcript)
	}
}

// `tilesyncd run` on a terminal: the console's lines, a bar while a large
// file is staged, and a clean stop on Ctrl-C.
func TestRunInTmux(t *testing.T) {
	needTmux(t)
	bin := tilesyncdBinary(t)
	e := slowEnv(t)
	p := startPane(t, []string{"MAPBOX_ACCESS_TOKEN=" + testenv.Token},
		fmt.Sprintf("%s run --config %s; echo tilesyncd-exit=$?; exec sleep 3600", bin, e.ConfigPath))
	p.watch("the daemon to watch its folder", time.Minute, nil, func(s string) bool { return strings.Contains(s, " watching  ") })
	writeLarge(t, e, "roads.geojson", 32<<20)
	e.Write("trees.csv", "id,species\n1,oak\n")
	var bar string
	p.watch("roads.geojson to be uploaded", 2*time.Minute, &bar, func(s string) bool {
		return strings.Contains(s, "uploaded  roads.geojson → acme.roads")
	})
	p.keys("C-c")
	p.watch("run to stop", time.Minute, nil, func(s string) bool { return strings.Contains(s, "tilesyncd-exit=") })
	out := p.transcript()
	if !strings.Contains(bar, " roads.geojson ") {
		t.Errorf("no progress bar of roads.geojson was seen (the first bar: %q)", bar)
	}
	checkLines(t, out,
		`^\d\d:\d\d:\d\d started   account acme  1 watch folder$`,
		`^\d\d:\d\d:\d\d queued    roads\.geojson → acme\.roads  32 MiB$`,
		`^\d\d:\d\d:\d\d uploaded  trees\.csv → acme\.trees  17 B  [0-9a-f]{8}$`,
		`^\d\d:\d\d:\d\d stopped   tilesyncd$`,
		`^tilesyncd-exit=0$`)
}

// `tilesyncd sync --once` on a terminal: the bars while staging, the
// console's lines, and the summary on stdout.
func TestSyncOnceInTmux(t *testing.T) {
	needTmux(t)
	bin := tilesyncdBinary(t)
	e := slowEnv(t)
	writeLarge(t, e, "roads.geojson", 32<<20)
	e.Write("trees.csv", "id,species\n1,oak\n")
	p := startPane(t, []string{"MAPBOX_ACCESS_TOKEN=" + testenv.Token},
		fmt.Sprintf("%s sync --once --config %s; echo tilesyncd-exit=$?; exec sleep 3600", bin, e.ConfigPath))
	var bar string
	p.watch("sync to end", 2*time.Minute, &bar, func(s string) bool { return strings.Contains(s, "tilesyncd-exit=") })
	out := p.transcript()
	if !strings.Contains(bar, " roads.geojson ") {
		t.Errorf("no progress bar of roads.geojson was seen (the first bar: %q)", bar)
	}
	checkLines(t, out,
		`^\d\d:\d\d:\d\d staged    roads\.geojson → acme\.roads  32 MiB  in \d+s, \d+(\.\d)? MiB/s$`,
		`^\d\d:\d\d:\d\d uploaded  roads\.geojson → acme\.roads  32 MiB  [0-9a-f]{8}$`,
		`^uploaded 2, unchanged 0, refused 0, failed 0, cancelled 0 in \S+$`,
		`^tilesyncd-exit=0$`)
}
