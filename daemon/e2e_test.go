package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/intake"
	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/syncer"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// dropExampleVariants drops n files made from the example files, each with
// its own name and content, and returns the tileset each should reach.
func (e *env) dropExampleVariants(n int) map[string]string {
	e.t.Helper()
	examples := filepath.Join("..", "examples", "drop")
	kinds := []string{"parks/city-parks.geojson", "surveys/morning-walk.gpx", "surveys/benches.kml", "trees.csv", "basemap.mbtiles", "elevation.tif", "surveys/hydrants.zip"}
	want := map[string]string{}
	for i := range n {
		src := kinds[i%len(kinds)]
		data, err := os.ReadFile(filepath.Join(examples, filepath.FromSlash(src)))
		if err != nil {
			e.t.Fatal(err)
		}
		ext := path.Ext(src)
		stem := fmt.Sprintf("%s-%02d", strings.TrimSuffix(path.Base(src), ext), i)
		switch ext {
		case ".geojson", ".gpx", ".kml", ".csv": // text: a trailing comment line makes the content unique
			data = append(data, []byte(fmt.Sprintf("\n%s\n", stem))...)
			if ext == ".geojson" {
				data = append(data[:len(data)-len(stem)-2], ' ', '\n')
				data = append(data, []byte(strings.Repeat(" ", i))...)
			}
		default: // binary: appended bytes are ignored by the readers of these formats
			data = append(data, []byte(stem)...)
		}
		rel := fmt.Sprintf("batch%d/%s%s", i%4, stem, ext)
		e.Write(rel, string(data))
		want[rel] = "acme." + stem
	}
	return want
}

func TestFiftyFilesMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("uses MinIO")
	}
	e := newEnv(t, envOptions{storage: miniotest.Shared(t)})
	want := e.dropExampleVariants(50)
	sum := e.syncOnce()
	if sum.Uploaded != 50 {
		t.Fatalf("sync of 50 files: %+v", sum)
	}
	got := e.UploadsByTileset()
	for rel, ts := range want {
		if got[ts] != 1 {
			t.Errorf("%s: tileset %s uploaded %d times, want once", rel, ts, got[ts])
		}
	}
	// The bytes Mapbox received are the files' bytes.
	for _, u := range e.Srv.Uploads() {
		if u.SHA256 == "" {
			t.Errorf("upload %s to %s had no staged object", u.ID, u.Tileset)
		}
	}

	before := e.Requests()
	if sum := e.syncOnce(); sum.Uploaded != 0 || e.Requests() != before {
		t.Errorf("restart over unchanged files: %+v and %d API requests, want none", sum, e.Requests()-before)
	}
}

func TestTwoVersionsInQuickSuccession(t *testing.T) {
	e := newEnv(t, envOptions{processing: time.Second})
	d := e.open()
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	e.Write("roads.geojson", `{"v":1}`)
	testkit.WaitFor(t, "the first version queued", 10*time.Second, func() bool { return d.Intake().Stats().Queued.Load() >= 1 })
	e.Write("roads.geojson", `{"v":2, "newer": true}`)
	newest := sha(`{"v":2, "newer": true}`)
	testkit.WaitFor(t, "the tileset to hold the newer bytes", 30*time.Second, func() bool {
		rec, ok, err := d.Store().Tileset("acme.roads")
		return err == nil && ok && rec.SHA256 == newest
	})
	if n := e.UploadsByTileset()["acme.roads"]; n < 1 || n > 2 {
		t.Errorf("%d uploads, want 1 or 2", n)
	}
	ups := e.Srv.Uploads()
	if last := ups[len(ups)-1]; last.SHA256 != newest {
		t.Errorf("the last upload has %s, want the newer bytes %s", last.SHA256, newest)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestProcessingErrorIsPermanent(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.Srv.SetOutcome("acme.broken", "Tileset exceeds processing limit.")
	e.Write("broken.geojson", `{"type":"FeatureCollection"}`)
	e.Write("fine.geojson", `{"type":"FeatureCollection","features":[]}`)
	sum := e.syncOnce()
	if sum.Uploaded != 1 || sum.Failed != 1 || len(sum.Failures) != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if f := sum.Failures[0]; f.Tileset != "acme.broken" || !strings.Contains(f.LastError, "Tileset exceeds processing limit.") {
		t.Errorf("failure = %s: %q, want Mapbox's message", f.Tileset, f.LastError)
	}
	// Not retried: the next run sends nothing for it.
	before := e.Requests()
	sum = e.syncOnce()
	if e.Requests() != before || sum.Uploaded != 0 {
		t.Errorf("second run: %+v, %d requests; the failed file must not be retried until it changes", sum, e.Requests()-before)
	}
	// Changed, it is tried again.
	e.Srv.SetOutcome("acme.broken", "")
	e.Write("broken.geojson", `{"type":"FeatureCollection","features":[]} `)
	if sum := e.syncOnce(); sum.Uploaded != 1 {
		t.Errorf("after the file changed: %+v", sum)
	}
}

func TestRefusedFilesNeverSent(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.Write("notes.txt", "not geodata")
	e.Write("empty.geojson", "")
	e.Write("parcels.shp", "shp")
	e.Write("parcels.shx", "shx") // no .dbf
	f, err := os.Create(filepath.Join(e.Drop, "huge.kml"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(261_000_000) // sparse
	f.Close()
	sum := e.syncOnce()
	if sum.Refused != 4 || e.Requests() != 0 {
		t.Errorf("summary %+v, %d API requests; want 4 refused and no request", sum, e.Requests())
	}
	for _, want := range []string{"unsupported type .txt", "empty file", "incomplete shapefile (missing .dbf)", "too large for KML"} {
		if !strings.Contains(e.Logs.String(), want) {
			t.Errorf("the log does not say %q", want)
		}
	}
}

func TestShapefileZipped(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, ext := range []string{".shp", ".shx", ".dbf", ".prj"} {
		e.Write("parcels"+ext, "part "+ext)
	}
	if sum := e.syncOnce(); sum.Uploaded != 1 {
		t.Fatalf("summary %+v", sum)
	}
	// A changed part is a changed shapefile; touching nothing sends nothing.
	if sum := e.syncOnce(); sum.Uploaded != 0 {
		t.Errorf("unchanged shapefile sent again: %+v", sum)
	}
	e.Write("parcels.dbf", "part .dbf, edited")
	if sum := e.syncOnce(); sum.Uploaded != 1 || e.UploadsByTileset()["acme.parcels"] != 2 {
		t.Errorf("after editing the .dbf: %+v", sum)
	}
}

// TestReportedShapefileSizeLimit: a reported .shp is held to Mapbox's limit
// by its own size and its .dbf's, as plan decides it, not by the sum of all
// its parts that the unchanged-test compares. Here the .dbf is 140 MB
// (sparse), under the 260 MB limit with the .shp; counted twice it would be
// over. Both ways a report arrives: with the watcher's file ID and without.
func TestReportedShapefileSizeLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	d := e.open()
	defer d.Close()
	events := make(chan watcher.Event, 2)
	for _, stem := range []string{"a", "b"} {
		for _, ext := range []string{".shp", ".shx", ".prj"} {
			e.Write(stem+ext, "part "+ext)
		}
		dbf := filepath.Join(e.Drop, stem+".dbf")
		if err := os.WriteFile(dbf, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(dbf, 140<<20); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(e.Drop, stem+".shp"))
		if err != nil {
			t.Fatal(err)
		}
		ev := watcher.Event{Kind: watcher.Ready, Root: e.Drop, Rel: stem + ".shp", Size: fi.Size(), ModTime: fi.ModTime()}
		if stem == "b" {
			ev.FileID = state.FileIdentity(fi)
		}
		events <- ev
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runPipeline(ctx, d, events) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	testkit.WaitFor(t, "both shapefiles uploaded", 3*time.Minute, func() bool { // two 140 MB zips under -race
		return d.Syncer().Stats().Uploaded.Load() == 2 || d.Intake().Stats().Refused.Load() > 0
	})
	if st := d.Syncer().Stats(); d.Intake().Stats().Refused.Load() != 0 || st.Uploaded.Load() != 2 {
		t.Fatalf("uploaded %d, refused %d; want 2 uploaded", st.Uploaded.Load(), d.Intake().Stats().Refused.Load())
	}
}

func TestFaultsEveryFileOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	for i := range 12 {
		e.Write(fmt.Sprintf("f%02d.geojson", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	e.Srv.FailNext("", 6, 503)               // a burst of 5xx on every endpoint
	e.Srv.DropNext(mapbox.EndpointCreate, 2) // creates whose answer never comes
	e.Srv.CorruptNextCredentials(2)          // credentials S3 refuses
	e.Srv.SetFailureRate(0.2, 502, 7)        // and a fifth of all answers failing
	defer e.Srv.SetFailureRate(0, 0, 0)
	sum := e.syncOnce()
	if sum.Uploaded != 12 {
		t.Fatalf("summary %+v", sum)
	}
	for ts, n := range e.UploadsByTileset() {
		if n != 1 {
			t.Errorf("%s uploaded %d times", ts, n)
		}
	}
}

func TestAPIUnreachableForAWhile(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.Write("a.geojson", `{"a":1}`)
	e.Write("b.geojson", `{"b":1}`)
	e.Srv.SetUnreachable(true)
	d := e.open()
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{})
	var sum Summary
	var err error
	go func() { sum, err = d.SyncOnce(ctx); close(done) }()
	testkit.WaitFor(t, "requests failing against the unreachable API", 10*time.Second, func() bool { return e.Srv.Counts()[mapbox.EndpointCredentials] >= 2 })
	e.Srv.SetUnreachable(false)
	<-done
	if err != nil || sum.Uploaded != 2 {
		t.Fatalf("SyncOnce = %+v, %v", sum, err)
	}
	for ts, n := range e.UploadsByTileset() {
		if n != 1 {
			t.Errorf("%s uploaded %d times", ts, n)
		}
	}
}

// A rate-limited account: the daemon alone on it never meets a 429, and
// spends about two requests per upload. The server's window is 20 times
// shorter than Mapbox's to keep the test quick (30 requests per 3 s); the
// daemon learns it from the X-Rate-Limit-* headers of the first answer, and
// its poll pace is the production one, 20 times faster.
func TestNoRateLimitErrorsAlone(t *testing.T) {
	n := 100
	if testing.Short() {
		n = 30
	}
	p := syncer.DefaultPollPace
	scaled := syncer.PollPace{First: p.First / 20, Max: p.Max / 20, MinGap: p.MinGap / 20, Idle: p.Idle / 20, BusyGap: p.BusyGap / 20, BusyMax: p.BusyMax / 20}
	e := newEnv(t, envOptions{rateLimit: 30, perMinute: 600, processing: time.Second, poll: scaled})
	e.Srv.SetRateLimit(30, 3*time.Second)
	for i := range n {
		e.Write(fmt.Sprintf("f%03d.geojson", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	sum := e.syncOnce()
	if sum.Uploaded != int64(n) {
		t.Fatalf("summary %+v", sum)
	}
	for ep, byStatus := range e.Srv.StatusCounts() {
		if byStatus[429] != 0 {
			t.Errorf("%d answers 429 on %s", byStatus[429], ep)
		}
	}
	perUpload := float64(e.Requests()) / float64(n)
	t.Logf("%d uploads, %d API requests (%.2f per upload)", n, e.Requests(), perUpload)
	if perUpload > 2.3 {
		t.Errorf("%.2f API requests per upload, want about 2", perUpload)
	}
}

// After a 429, nothing is sent before the reset time: another client of the
// account has used the window up, the daemon's first request meets a 429,
// and every request waits for the reset, so no second 429 follows.
func TestNothingSentBeforeTheReset(t *testing.T) {
	e := newEnv(t, envOptions{rateLimit: 10, perMinute: 60})
	e.Srv.SetRateLimit(10, 3*time.Second)
	for i := range 4 {
		e.Write(fmt.Sprintf("f%d.geojson", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	other, err := mapbox.New(mapbox.Options{BaseURL: e.Srv.URL(), Username: "acme", Token: testenv.Token})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := other.List(context.Background(), mapbox.ListOptions{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	}
	sum := e.syncOnce()
	if sum.Uploaded != 4 {
		t.Fatalf("summary %+v", sum)
	}
	n429 := 0
	for _, byStatus := range e.Srv.StatusCounts() {
		n429 += byStatus[429]
	}
	if n429 != 1 {
		t.Errorf("%d answers 429, want exactly 1: after the first, nothing may be sent before the reset", n429)
	}
}

// slowTransport sends request bodies at about bytesPerSecond, a slow uplink.
type slowTransport struct {
	base           http.RoundTripper
	bytesPerSecond int
}

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = &slowBody{ReadCloser: r.Body, bytesPerSecond: s.bytesPerSecond}
	}
	return s.base.RoundTrip(r)
}

type slowBody struct {
	io.ReadCloser
	bytesPerSecond int
}

func (b *slowBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	// The pace of a slow link, not a wait for an event.
	time.Sleep(time.Duration(n) * time.Second / time.Duration(b.bytesPerSecond))
	return n, err
}

// A file changed while it is being staged is never created with torn bytes:
// every upload Mapbox receives is a version of the file that really existed,
// and the tileset ends with the last one.
func TestFileChangedDuringStaging(t *testing.T) {
	e := newEnv(t, envOptions{})
	log := slog.New(slog.NewTextHandler(e.Logs, nil))
	d, err := Open(e.Config(), Options{Logger: log, Poll: e.poll, HTTPClient: testenv.HTTPClient(time.Second),
		Staging: staging.Options{PartSize: 5 << 20, MultipartThreshold: 5 << 20, Concurrency: 1,
			HTTPClient: &http.Client{Transport: slowTransport{base: http.DefaultTransport, bytesPerSecond: 8 << 20}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	versions := map[string]bool{}
	content := bytes.Repeat([]byte("0123456789abcdef"), (24<<20)/16) // 24 MiB, five parts
	p := filepath.Join(e.Drop, "big.mbtiles")
	write := func(b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		versions[sha(string(b))] = true
	}
	write(content)
	testkit.WaitFor(t, "staging to be under way", 30*time.Second, func() bool {
		for _, tr := range d.Syncer().Transfers() {
			if tr.Sent > 0 {
				return true
			}
		}
		return false
	})
	// Overwrite the middle: a torn mix of old and new would be easy to send.
	changed := bytes.Clone(content)
	copy(changed[12<<20:], bytes.Repeat([]byte("X"), 1<<20))
	write(changed)
	last := sha(string(changed))
	testkit.WaitFor(t, "the tileset to hold the last version", 60*time.Second, func() bool {
		rec, ok, err := d.Store().Tileset("acme.big")
		return err == nil && ok && rec.SHA256 == last
	})
	for _, u := range e.Srv.Uploads() {
		if !versions[u.SHA256] {
			t.Errorf("upload %s holds %.12s, which is no version of the file: torn", u.ID, u.SHA256)
		}
	}
	if n := len(e.Srv.Uploads()); n > 2 {
		t.Errorf("%d uploads, want at most 2", n)
	}
	// The change was reported while the old bytes were being staged: once
	// the new bytes are uploaded, the file's record says so with the file's
	// own size and time, so plan calls it unchanged (it used to be wiped).
	testkit.WaitFor(t, "the job to be done", 30*time.Second, func() bool {
		idle, err := d.Syncer().Idle()
		return err == nil && idle
	})
	w := d.cfg.Watch[0]
	if got, ok := intake.Settled(d.Store(), w, "big.mbtiles", "acme.big"); !ok || got != "unchanged" {
		rec, _, _ := d.Store().File(state.FileKey{Watch: w.Path, Path: "big.mbtiles"})
		t.Errorf("plan says %q %v for the uploaded file; its record: %+v", got, ok, rec)
	}
}

// lostAnswers delivers the first n create requests to the server but loses
// their answers, as a network that fails after the request went through.
type lostAnswers struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (l *lostAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && r.Method == http.MethodPost && !strings.HasSuffix(r.URL.Path, "/credentials") && l.n > 0 {
		l.n--
		resp.Body.Close()
		return nil, errors.New("connection reset after the request was sent")
	}
	return resp, err
}

// openLosing opens a daemon whose HTTP client is hc (which loses answers,
// so the answer timeout cannot be read from it) with fast retries.
func (e *env) openLosing(hc *http.Client) *Daemon {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(e.Logs, nil))
	d, err := Open(e.Config(), Options{Logger: log, Poll: e.poll, HTTPClient: hc, CreateQuiet: 2 * time.Second,
		Backoff: syncer.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Budget:  ratelimit.Options{MinOutage: 20 * time.Millisecond, MaxOutage: 200 * time.Millisecond}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// A create whose answer is lost may have created the upload: the syncer
// looks it up before creating again, and the bytes are uploaded once.
func TestCreateAnswerLostUploadsOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.Write("roads.geojson", `{"roads":1}`)
	e.Write("lakes.geojson", `{"lakes":1}`)
	hc := testenv.HTTPClient(time.Second)
	hc.Transport = &lostAnswers{base: hc.Transport, n: 2}
	d := e.openLosing(hc)
	defer d.Close()
	sum, err := d.SyncOnce(context.Background())
	if err != nil || sum.Uploaded != 2 {
		t.Fatalf("SyncOnce = %+v, %v", sum, err)
	}
	for ts, n := range e.UploadsByTileset() {
		if n != 1 {
			t.Errorf("%s uploaded %d times, want once", ts, n)
		}
	}
	if !strings.Contains(e.Logs.String(), "not creating it again") {
		t.Error("the log does not say the lost create's upload was found")
	}
}
