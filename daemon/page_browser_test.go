package daemon

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// chromium finds the browser: $TILESYNCD_CHROMIUM, else chromium on PATH.
// Without one the test skips, but fails under CI ($CI set), which must
// install it (.ci/run installs Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TILESYNCD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH and $TILESYNCD_CHROMIUM unset: CI must install it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH (set $TILESYNCD_CHROMIUM to a Chromium or Chrome binary to run the status page's browser test)")
	return ""
}

// stagingGate is a proxy in front of the simulator's S3 store that holds
// every upload of bytes until it is released, so that a test sees a file
// in staging.
type stagingGate struct {
	url     string
	release chan struct{}
	once    sync.Once
}

func newStagingGate(t *testing.T, store string) *stagingGate {
	t.Helper()
	target, err := url.Parse(store)
	if err != nil {
		t.Fatal(err)
	}
	g := &stagingGate{release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(target) // keeps the signed Host header
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		g.open()
		srv.Close()
	})
	g.url = "http://" + ln.Addr().String()
	return g
}

// open lets every held and later upload through.
func (g *stagingGate) open() { g.once.Do(func() { close(g.release) }) }

// browserPage drives one headless Chromium tab.
type browserPage struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	problems []string // exceptions and console errors
}

// newBrowser starts Chromium (headless; without its sandbox when run as
// root, where it refuses to start with one) until the test ends.
func newBrowser(t *testing.T) *browserPage {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.Headless,
		chromedp.WindowSize(1280, 900), chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	p := &browserPage{t: t, ctx: ctx}
	messages := chromedp.Console(ctx) // subscribes now: nothing the page writes is missed
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				p.mu.Lock()
				p.problems = append(p.problems, m.String())
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		<-done
	})
	return p
}

// do runs actions, failing the test on an error.
func (p *browserPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, p.text())
	}
}

// waitFor waits, at most 30 s, for a JavaScript condition on the page.
func (p *browserPage) waitFor(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 40*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		p.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, p.text())
	}
}

// eval evaluates a JavaScript expression into T.
func eval[T any](p *browserPage, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text is the page's visible text, for a failure's message.
func (p *browserPage) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// screenshot saves the whole page as a PNG in dir and returns its path.
func (p *browserPage) screenshot(dir, name string) string {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// q quotes a string for JavaScript.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The status page, in a real browser, over a daemon on the simulator: a
// file is seen staging, processing and uploaded; a failed one shows
// Mapbox's message and is retried with its button; a folder is paused and
// resumed with its button; a file name that is HTML stays text. The page
// raises no error and breaks no rule of its Content-Security-Policy. It
// leaves screenshots as artifacts ($TILESYNCD_ARTIFACTS, else the test's
// folder), and the README's with $TILESYNCD_SCREENSHOT set (to its path).
// It is long because it is one story on one page, told in order: each step
// starts from the state the one before left.
func TestStatusPageInBrowser(t *testing.T) {
	browser := newBrowser(t)
	addr := freeAddr(t)
	var gate *stagingGate
	te := testenv.New(t, testenv.Options{PerMinute: 6000, Control: "control:\n  listen: " + addr + "\n",
		Sim: mapboxsim.Options{ProcessingTime: 4 * time.Second},
		S3Endpoint: func(store string) string {
			gate = newStagingGate(t, store)
			return gate.url
		}})
	e := &env{Env: te, t: t, poll: fastPoll}
	d, _ := e.startDaemon()
	artifacts := os.Getenv("TILESYNCD_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	browser.do("load the page", chromedp.Navigate("http://"+addr+"/"))
	browser.waitFor("the first status", `document.body.dataset.loaded === "true" && document.querySelector("#health").dataset.ok === "true"`)
	browser.waitFor("the watch folder", `document.querySelector(`+q(`#folders tr[data-folder=`+q(e.Drop)+`][data-paused=false]`)+`) !== null`)

	// A file, from staging (held at the S3 store) to processing to uploaded.
	row := func(section, path, more string) string {
		return `document.querySelector(` + q(`#`+section+` [data-path=`+q(path)+`]`+more) + `)`
	}
	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[],"name":"roads"}`)
	browser.waitFor("roads.geojson staging", row("inflight", "roads.geojson", "[data-stage=staging]")+` !== null`)
	gate.open()
	browser.waitFor("roads.geojson processing, its progress shown",
		`(r => r !== null && r.querySelector("progress").value > 0 && r.textContent.includes("Mapbox processing"))(`+row("inflight", "roads.geojson", "[data-stage=processing]")+`)`)
	e.Srv.SetProcessingTime(300 * time.Millisecond)
	browser.waitFor("roads.geojson uploaded", row("recent", "roads.geojson", "[data-outcome=uploaded]")+` !== null && `+
		row("inflight", "roads.geojson", "")+` === null`)

	// A file Mapbox fails, with its message.
	bad := `{"type":"FeatureCollection","features":[],"name":"bad"}`
	const message = "Tileset has no features: the GeoJSON holds none."
	e.Srv.SetContentOutcome(sha(bad), message)
	e.Write("bad.geojson", bad)
	browser.waitFor("bad.geojson failed with Mapbox's message",
		`(r => r !== null && r.textContent.includes(`+q(message)+`))(`+row("failed", "bad.geojson", "")+`)`)

	// The README's picture: a failure, an upload processing, history.
	e.Srv.SetProcessingTime(12 * time.Second)
	e.Write("lakes.geojson", `{"type":"FeatureCollection","features":[],"name":"lakes"}`)
	browser.waitFor("lakes.geojson processing", `(r => r !== null && r.querySelector("progress").value >= 0.2)(`+
		row("inflight", "lakes.geojson", "[data-stage=processing]")+`)`)
	shot := browser.screenshot(artifacts, "status-page.png")
	t.Logf("screenshot: %s", shot)
	if readme := os.Getenv("TILESYNCD_SCREENSHOT"); readme != "" {
		data, err := os.ReadFile(shot)
		if err == nil {
			err = os.WriteFile(readme, data, 0o644)
		}
		if err != nil {
			t.Fatalf("the README's screenshot: %v", err)
		}
		t.Logf("the README's screenshot: %s", readme)
	}

	// Names and messages are text: a file name that is HTML, Mapbox's
	// message with markup.
	e.Srv.SetProcessingTime(300 * time.Millisecond)
	const htmlName = `<img src=x onerror="document.title='pwned'">.txt`
	e.Write(htmlName, "not geodata")
	markup := `{"type":"FeatureCollection","features":[],"name":"markup"}`
	const markupMessage = `Invalid GeoJSON: unexpected <b onmouseover="document.title='pwned'">token</b> at line 1`
	e.Srv.SetContentOutcome(sha(markup), markupMessage)
	e.Write("markup.geojson", markup)
	browser.waitFor("the HTML-named file refused, shown as text", `document.querySelector("#refused").textContent.includes(`+q(htmlName)+`)`)
	browser.waitFor("markup.geojson failed, Mapbox's message shown as text",
		`(r => r !== null && r.textContent.includes(`+q(markupMessage)+`))(`+row("failed", "markup.geojson", "")+`)`)
	if n := eval[int](browser, `document.querySelectorAll("img, #failed b, #recent b, #refused b").length`); n != 0 {
		t.Errorf("the page made %d elements from a file name or a message", n)
	}
	if title := eval[string](browser, `document.title`); title != "tilesyncd" {
		t.Errorf("the page's title is %q: a file name ran as script", title)
	}

	// Retry the failed file with its button.
	e.Srv.SetContentOutcome(sha(bad), "")
	browser.do("click retry", chromedp.Click(chromedp.CSS(`#failed tr[data-path="bad.geojson"] button.retry`)))
	browser.waitFor("the retry acknowledged", `document.querySelector("#notice").textContent.includes("Retry bad.geojson: 1 done")`)
	browser.waitFor("bad.geojson uploaded once retried", row("recent", "bad.geojson", "[data-outcome=uploaded]")+` !== null && `+
		row("failed", "bad.geojson", "")+` === null`)

	// Pause the folder with its button: a new file is held; resume sends it.
	folderButton := `#folders tr[data-folder=` + q(e.Drop) + `] button.pause`
	browser.do("click pause", chromedp.Click(chromedp.CSS(folderButton)))
	browser.waitFor("the folder paused", `document.querySelector(`+q(`#folders tr[data-folder=`+q(e.Drop)+`][data-paused=true]`)+`) !== null`)
	e.Write("held.geojson", `{"type":"FeatureCollection","features":[],"name":"held"}`)
	browser.waitFor("held.geojson held in the queue", row("queued", "held.geojson", "[data-paused=true]")+` !== null`)
	if got := d.Paused(); len(got) != 1 || got[0] != e.Drop {
		t.Errorf("the daemon's paused folders: %q", got)
	}
	browser.do("click resume", chromedp.Click(chromedp.CSS(folderButton)))
	browser.waitFor("held.geojson uploaded once resumed", row("recent", "held.geojson", "[data-outcome=uploaded]")+` !== null`)
	t.Logf("screenshot: %s", browser.screenshot(artifacts, "status-page-end.png"))

	browser.mu.Lock()
	defer browser.mu.Unlock()
	for _, m := range browser.problems {
		t.Errorf("the page's console: %s", m)
	}
	if all, _ := uploadsTo(e.Srv, "acme.held"); all != 1 {
		t.Errorf("uploads of held.geojson: %d, want 1", all)
	}
}
