package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/syncer"
)

const token = "sk.eyJ1IjoiYmVuY2gifQ.bench-SECRET-token"

// short reports the short scale (make bench BENCH_SCALE=short, go test -short).
func short() bool { return testing.Short() }

// setup is a test server and a configuration file for one benchmark.
type setup struct {
	srv     *mapboxsim.Server
	dir     string
	drop    string
	cfgPath string
}

type setupOptions struct {
	processing time.Duration
	rateLimit  int
	rateWindow time.Duration
	perMinute  int
	settle     string
	mode       string
	drop       string // an existing drop folder; default a new one
	state      string // an existing state database; default a new one
}

func newSetup(b *testing.B, o setupOptions) *setup {
	b.Helper()
	if o.perMinute == 0 {
		o.perMinute = 60000
	}
	if o.settle == "" {
		o.settle = "1s"
	}
	if o.mode == "" {
		o.mode = "auto"
	}
	s := &setup{dir: b.TempDir()}
	s.srv, _ = mapboxsim.StartMem(b, mapboxsim.Options{Username: "acme", Token: token,
		ProcessingTime: o.processing, RateLimit: o.rateLimit, RateWindow: o.rateWindow})
	s.drop = o.drop
	if s.drop == "" {
		s.drop = filepath.Join(s.dir, "drop")
		if err := os.Mkdir(s.drop, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if o.state == "" {
		o.state = filepath.Join(s.dir, "state", "state.db")
	}
	s.cfgPath = filepath.Join(s.dir, "config.yaml")
	cfg := fmt.Sprintf(`mapbox:
  username: acme
  api_url: %s
  s3_endpoint: %s
  requests_per_minute: %d
state:
  path: %s
watch:
  - path: %s
    mode: %s
    settle: %s
control:
  listen: "off"
rules:
  - match: "**"
    tileset: "{username}.{stem}"
`, s.srv.URL(), s.srv.Storage().Endpoint(), o.perMinute, o.state, s.drop, o.mode, o.settle)
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return s
}

func (s *setup) config(b *testing.B) *config.Config {
	b.Helper()
	cfg, err := config.Load(s.cfgPath, config.LoadOptions{RequireToken: true, Getenv: func(k string) string {
		if k == "MAPBOX_ACCESS_TOKEN" {
			return token
		}
		return ""
	}})
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// open opens a daemon on the setup with production settings but for the
// poll pace, which scale divides (1 at full scale).
func (s *setup) open(b *testing.B, scale time.Duration, log *slog.Logger) *daemon.Daemon {
	b.Helper()
	p := syncer.DefaultPollPace
	pace := syncer.PollPace{First: p.First / scale, Max: p.Max / scale, MinGap: p.MinGap / scale, BusyGap: p.BusyGap / scale}
	d, err := daemon.Open(s.config(b), daemon.Options{Logger: log, Poll: pace,
		Backoff: syncer.Backoff{Min: syncer.DefaultBackoff.Min / scale, Max: syncer.DefaultBackoff.Max / scale}})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// dropSmall writes n small GeoJSON files named prefix00000… into dir.
func dropSmall(b *testing.B, dir, prefix string, n int) {
	b.Helper()
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("%s%05d.geojson", prefix, i))
		data := fmt.Sprintf(`{"type":"FeatureCollection","features":[],"n":%q}`, filepath.Base(p))
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func (s *setup) requests() int {
	n := 0
	for _, c := range s.srv.Counts() {
		n += c
	}
	return n
}

func (s *setup) status(code int) int {
	n := 0
	for _, byStatus := range s.srv.StatusCounts() {
		n += byStatus[code]
	}
	return n
}

// verdict is "met" or "MISSED".
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// line prints one figure of the report.
func line(format string, args ...any) {
	fmt.Printf("BENCH "+format+"\n", args...)
}

// --- the real binary and its memory -----------------------------------------

var build struct {
	once sync.Once
	path string
	err  error
}

// binary builds cmd/tilesyncd once into a temporary folder.
func binary(b *testing.B) string {
	b.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "tilesyncd-bench-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "tilesyncd")
		out, err := exec.Command("go", "build", "-o", build.path, "../cmd/tilesyncd").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		b.Fatal(build.err)
	}
	return build.path
}

// procStatus reads a field of /proc/PID/status in kB (VmRSS, VmHWM).
func procStatus(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return -1
}

// cpuTicks is the process's user+system time in clock ticks.
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// readChars is this process's rchar from /proc/self/io: the bytes read()
// and pread() returned, whatever the page cache did.
func readChars() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}

// syncOnce runs SyncOnce with a generous deadline.
func syncOnce(b *testing.B, d *daemon.Daemon, timeout time.Duration) daemon.Summary {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sum, err := d.SyncOnce(ctx)
	if err != nil {
		b.Fatalf("SyncOnce: %v (%+v)", err, sum)
	}
	return sum
}
