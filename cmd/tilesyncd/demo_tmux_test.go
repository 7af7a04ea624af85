package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The demo as a person sees it (issue 17): the built binary's demo in
// tmux, 80 columns wide, captured again and again until it ends. A
// progress bar shows at some point; no row is ever wider than 80 columns
// nor wrapped by the terminal; once the demo ends no bar is left
// anywhere, and the summary reads. TILESYNCD_CAPTURE=FILE writes the
// captured demo to FILE, and the first screen with bars to FILE.progress,
// for the README.
func TestDemoInTmux(t *testing.T) {
	needTmux(t)
	bin := tilesyncdBinary(t)
	// The demo's temporary folder is the test's, unless the capture is for
	// the README: then it is where a person's is.
	var env []string
	if os.Getenv("TILESYNCD_CAPTURE") == "" {
		env = append(env, "TMPDIR="+t.TempDir())
	}
	p := startPane(t, env, fmt.Sprintf("%s demo; echo tilesyncd-exit=$?; exec sleep 3600", bin))
	var progress string
	p.watch("the demo to end", 3*time.Minute, &progress, func(s string) bool { return strings.Contains(s, "tilesyncd-exit=") })
	demo := p.transcript()
	if progress == "" {
		t.Errorf("no progress bar was ever seen")
	}
	checkDemoSummary(t, demo)
	if path := os.Getenv("TILESYNCD_CAPTURE"); path != "" {
		os.WriteFile(path, []byte(strings.TrimRight(demo, "\n")+"\n"), 0o644)
		os.WriteFile(path+".progress", []byte(strings.TrimRight(progress, "\n")+"\n"), 0o644)
	}
	if t.Failed() {
		t.Logf("the demo:\n%s", demo)
	}
}

// checkDemoSummary checks that the demo ended well and that its events
// and summary read.
func checkDemoSummary(t *testing.T, demo string) {
	t.Helper()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d started   account demo  1 watch folder$`),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d staged    contours\.geojson → demo\.contours  12 MiB  in \ds, \d\.\d MiB/s$`),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d uploaded  parks/trails\.geojson → demo\.trails  8\.0 MiB  [0-9a-f]{8}$`),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d unchanged elevation\.tif → demo\.elevation  not sent again$`),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d stopped   tilesyncd$`),
		regexp.MustCompile(`(?m)^==> done in \d+s: \d+ files, \d+ uploads, 1 skipped as unchanged, 0 failed$`),
		regexp.MustCompile(`(?m)^    tileset +upload +size  at Mapbox$`),
		regexp.MustCompile(`(?m)^    demo\.contours +[0-9a-f]{8} +12 MiB  processed$`),
		regexp.MustCompile(`(?m)^    \d+ API requests: (\S+ \d+, )*create \d+, credentials \d+`),
		regexp.MustCompile(`(?m)^==> next: copy config\.example\.yaml`),
		regexp.MustCompile(`(?m)^tilesyncd-exit=0$`),
	} {
		if !want.MatchString(demo) {
			t.Errorf("the demo lacks a row matching %s", want)
		}
	}
}
