package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The terminal tests (issue 17) run the built binary as a person does: in
// a real terminal, tmux, in a pane 80 columns wide, captured again and
// again while the command runs.

// tmuxPane is the one pane of a tmux server of the test's own (its own
// socket, no configuration read), 80 columns by 40 rows.
type tmuxPane struct {
	t      *testing.T
	socket string
}

// needTmux skips the test without tmux, unless in CI ($CI set), where
// .ci/run installs it.
func needTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("tmux is not installed (CI installs it)")
		}
		t.Fatal("tmux is not installed: CI must install it (.ci/run)")
	}
}

// startPane runs shell (sh -c) in a new pane, with env added to its
// environment. The shell should end by printing a marker and sleeping, so
// that its pane stays to be captured; the server is killed at cleanup.
func startPane(t *testing.T, env []string, shell string) tmuxPane {
	t.Helper()
	needTmux(t)
	p := tmuxPane{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	args := []string{"new-session", "-d", "-s", "pane", "-x", "80", "-y", "40"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	p.tmux(append(args, shell)...)
	t.Cleanup(func() { exec.Command("tmux", "-S", p.socket, "kill-server").Run() })
	return p
}

func (p tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-u", "-f", "/dev/null", "-S", p.socket}, args...)...)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// capture is what the pane shows; all adds the history above it; joined
// puts the rows the terminal wrapped back together.
func (p tmuxPane) capture(all, joined bool) string {
	args := []string{"capture-pane", "-p", "-t", "pane"}
	if all {
		args = append(args, "-S", "-", "-E", "-")
	}
	if joined {
		args = append(args, "-J")
	}
	return p.tmux(args...)
}

// keys types keys into the pane ("C-c" for an interrupt).
func (p tmuxPane) keys(keys ...string) {
	p.tmux(append([]string{"send-keys", "-t", "pane"}, keys...)...)
}

// barRow is a progress bar's row: " name [===>---] 3.0 MiB/12 MiB …";
// barLeft one that shows the rate and the time left.
var (
	barRow  = regexp.MustCompile(`(?m)^ \S.* \[[=>-]+\] +\d+(\.\d)? [KMG]?i?B/\d+(\.\d)? [KMG]?i?B`)
	barLeft = regexp.MustCompile(`(?m)^ \S.* \[[=>-]+\] +\d+(\.\d)? [KMG]?i?B/\d+(\.\d)? [KMG]?i?B  \S+ \S+/s  \S+ left *$`)
)

// watch captures the pane every 50 ms until until holds of a screen, for
// at most limit, checking every screen's rows (checkRows). When bar is not
// nil it keeps there the screen that showed the most progress bars with
// their time left, else the first with a bar.
func (p tmuxPane) watch(what string, limit time.Duration, bar *string, until func(screen string) bool) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	best := -1
	for {
		screen := p.capture(false, true)
		checkRows(p.t, "a screen", screen)
		if bar != nil && barRow.MatchString(screen) {
			if score := len(barLeft.FindAllString(screen, -1)); score > best {
				*bar, best = screen, score
			}
		}
		if until(screen) {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %s for %s; the pane:\n%s", limit, what, p.capture(true, true))
		}
		<-tick.C
	}
}

// transcript is everything the pane showed, once its command ended: it
// fails the test for a row the terminal wrapped, a row wider than 80
// columns, and a progress bar left behind (torn, or never taken away).
func (p tmuxPane) transcript() string {
	p.t.Helper()
	all, joined := trimRows(p.capture(true, false)), trimRows(p.capture(true, true))
	if all != joined {
		p.t.Errorf("the terminal wrapped rows: joined, the pane's history differs:\n%s", joined)
	}
	checkRows(p.t, "the transcript", joined)
	if m := barRow.FindString(joined); m != "" {
		p.t.Errorf("a progress bar was left behind: %q", m)
	}
	return joined
}

// trimRows drops the spaces that end text's rows (capture-pane -J keeps
// them, and only them).
func trimRows(text string) string {
	rows := strings.Split(text, "\n")
	for i, r := range rows {
		rows[i] = strings.TrimRight(r, " ")
	}
	return strings.Join(rows, "\n")
}

// checkRows fails the test for a row wider than 80 columns or holding a
// control character.
func checkRows(t *testing.T, what, text string) {
	t.Helper()
	for _, row := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(row); n > 80 {
			t.Errorf("%s: a row of %d columns: %q", what, n, row)
		}
		if strings.ContainsAny(row, "\x1b\r\a") {
			t.Errorf("%s: a control character in %q", what, row)
		}
	}
}

// slowS3 is a proxy in front of the S3 store that reads request bodies at
// most at rate bytes a second, so that a staging lasts long enough to be
// watched.
func slowS3(t *testing.T, store string, rate int64) string {
	u, err := url.Parse(store)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &slowBody{ReadCloser: r.Body, rate: rate, start: time.Now()}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
