package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"
)

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runDaemon runs d until the test ends and waits for its control endpoint.
func runDaemon(t *testing.T, d *Daemon, addr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		d.Close()
	})
	testkit.WaitFor(t, "the control endpoint", 10*time.Second, func() bool {
		code, _ := get(t, addr, "/healthz")
		return code != 0
	})
}

// get asks the control endpoint at addr; code 0 means no answer.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := control.NewHTTPClient(addr).Get(control.BaseURL + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics with the Prometheus text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, addr, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	if strings.Contains(body, testenv.Token) {
		t.Errorf("/metrics shows the token")
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mfs
}

// value returns the value of the family's metric whose labels include
// want; ok is false if there is none.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
metrics:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue metrics
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestControlEndpoint follows the control endpoint through a run. It is long
// because it is one story over every route, told in order.
func TestControlEndpoint(t *testing.T) {
	addr := freeAddr(t)
	e := newEnv(t, envOptions{control: "control:\n  listen: " + addr + "\n"})
	d, err := Open(e.Config(), Options{Logger: e.logger(), Poll: fastPoll, HTTPClient: testenv.HTTPClient(time.Second), Version: "1.2.3-test"})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d, addr)

	if code, body := get(t, addr, "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz before any work: %d %q, want 200 ok", code, body)
	}
	before := scrape(t, addr)
	for _, name := range []string{"tilesyncd_jobs", "tilesyncd_uploads_total", "tilesyncd_files_seen_total", "tilesyncd_staged_bytes_total",
		"tilesyncd_rate_limit_wait_seconds_total", "tilesyncd_rate_limited_total", "tilesyncd_watch_folders",
		"tilesyncd_last_success_timestamp_seconds", "tilesyncd_token_rejected", "tilesyncd_build_info",
		"go_goroutines"} {
		if before[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if v, ok := value(before, "tilesyncd_watch_folders", map[string]string{"folder": e.Drop, "mode": "poll"}); !ok || v != 1 {
		t.Errorf("tilesyncd_watch_folders{folder=%q,mode=poll} = %v, %v; want 1", e.Drop, v, ok)
	}
	if v, _ := value(before, "tilesyncd_uploads_total", map[string]string{"result": "uploaded"}); v != 0 {
		t.Errorf("uploads before any file: %v", v)
	}
	if v, _ := value(before, "tilesyncd_last_success_timestamp_seconds", nil); v != 0 {
		t.Errorf("last success before any upload: %v", v)
	}

	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	e.Write("b/lakes.kml", `<kml/>`)
	testkit.WaitFor(t, "two uploads", 30*time.Second, func() bool { return d.Syncer().Stats().Uploaded.Load() == 2 })

	after := scrape(t, addr)
	checks := []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"tilesyncd_uploads_total", map[string]string{"result": "uploaded"}, 2},
		{"tilesyncd_staged_bytes_total", nil, 10},
		{"tilesyncd_files_seen_total", nil, 2},
		{"tilesyncd_api_requests_total", map[string]string{"endpoint": "credentials", "code": "200"}, 2},
		{"tilesyncd_api_requests_total", map[string]string{"endpoint": "create", "code": "201"}, 2},
		{"tilesyncd_last_success_timestamp_seconds", nil, float64(time.Now().Add(-time.Minute).Unix())},
		{"tilesyncd_build_info", map[string]string{"version": "1.2.3-test"}, 1},
		{"tilesyncd_healthy", nil, 1},
	}
	for _, c := range checks {
		if v, ok := value(after, c.name, c.labels); !ok || v < c.min {
			t.Errorf("%s%v = %v (found %v), want at least %v", c.name, c.labels, v, ok, c.min)
		}
	}
	if v, ok := value(after, "tilesyncd_jobs", map[string]string{"stage": "queued"}); !ok || v != 0 {
		t.Errorf("tilesyncd_jobs{stage=queued} = %v, %v after the uploads", v, ok)
	}

	code, body := get(t, addr, "/status")
	if code != http.StatusOK {
		t.Fatalf("/status: %d %s", code, body)
	}
	if strings.Contains(body, testenv.Token) {
		t.Errorf("/status shows the token")
	}
	var st control.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Source != control.SourceDaemon || st.Version != "1.2.3-test" || st.Health == nil || !st.Health.OK ||
		st.Budget == nil || st.Budget.Limit == 0 || len(st.Watch) != 1 || st.Watch[0].Mode != "poll" ||
		st.Watch[0].Folder != e.Drop || st.Uploads["uploaded"] != 2 || st.LastSuccess.IsZero() {
		t.Errorf("/status = %s", body)
	}
	if len(st.State.Recent) != 2 || st.State.Recent[0].Outcome != "uploaded" || st.State.Path != e.Config().State.Path {
		t.Errorf("/status state = %+v", st.State)
	}
	for _, k := range []string{`"state"`, `"budget"`, `"watch"`, `"health"`, `"version"`, `"recent"`, `"counts"`} {
		if !strings.Contains(body, k) {
			t.Errorf("/status lacks %s", k)
		}
	}
}

func TestHealthzTokenRefused(t *testing.T) {
	addr := freeAddr(t)
	e := newEnv(t, envOptions{control: "control:\n  listen: " + addr + "\n"})
	d, err := Open(e.Config(), Options{Logger: e.logger(), Poll: fastPoll, HTTPClient: testenv.HTTPClient(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d, addr)
	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	testkit.WaitFor(t, "an upload", 30*time.Second, func() bool { return d.Syncer().Stats().Uploaded.Load() == 1 })
	if code, body := get(t, addr, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz with a good token: %d %q", code, body)
	}

	// The token now belongs to another account: Mapbox answers 401.
	e.Srv.AddAccountToken("someone-else", testenv.Token, mapboxsim.ScopeWrite, mapboxsim.ScopeRead, mapboxsim.ScopeList)
	e.Write("lakes.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}}]}`)
	testkit.WaitFor(t, "the token refused", 30*time.Second, func() bool { return d.Syncer().AuthError() != nil })
	code, body := get(t, addr, "/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "refuses the token") {
		t.Errorf("/healthz with a refused token: %d %q, want 503 naming the token", code, body)
	}
	if strings.Contains(body, testenv.Token) {
		t.Errorf("/healthz shows the token")
	}
	mfs := scrape(t, addr)
	if v, _ := value(mfs, "tilesyncd_token_rejected", nil); v != 1 {
		t.Errorf("tilesyncd_token_rejected = %v, want 1", v)
	}
	if v, _ := value(mfs, "tilesyncd_api_requests_total", map[string]string{"code": "401"}); v < 1 {
		t.Errorf("no 401 counted in tilesyncd_api_requests_total")
	}
	_, body = get(t, addr, "/status")
	var st control.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.AuthError == "" || st.Health.OK || strings.Contains(body, testenv.Token) {
		t.Errorf("/status with a refused token: %s", body)
	}
}

func TestControlEndpointInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	e := newEnv(t, envOptions{control: "control:\n  listen: " + addr + "\n"})
	d := e.open()
	defer d.Close()
	err = d.Run(context.Background())
	want := "control endpoint " + addr + " in use: another tilesyncd is running?"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Run with the port taken: %v, want %q", err, want)
	}
}

// logger writes to the env's log, which is checked for the token.
func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestHealthzStall(t *testing.T) {
	addr := freeAddr(t)
	e := newEnv(t, envOptions{control: "control:\n  listen: " + addr + "\n"})
	d, err := Open(e.Config(), Options{Logger: e.logger(), Poll: fastPoll, HTTPClient: mapbox.NewHTTPClient(),
		StallAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d, addr)
	// Mapbox stops answering (it answers after 20 s; the test ends before).
	e.Srv.SetDelay(20 * time.Second)
	e.Write("roads.geojson", `{"type":"FeatureCollection","features":[]}`)
	testkit.WaitFor(t, "the job in flight", 10*time.Second, func() bool {
		counts, err := d.Store().Counts()
		return err == nil && counts[state.StageStaging] == 1
	})
	if code, body := get(t, addr, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz as the job starts: %d %q", code, body)
	}
	testkit.WaitFor(t, "a stall reported", 10*time.Second, func() bool {
		code, body := get(t, addr, "/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "1 job(s) pending and nothing has progressed")
	})
}

// scrapeOf reads the daemon's /metrics in process, as scrape does over
// its control endpoint.
func scrapeOf(t *testing.T, d *Daemon) map[string]*dto.MetricFamily {
	t.Helper()
	s, err := control.New(control.Options{Source: d})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Host = "127.0.0.1"
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}
