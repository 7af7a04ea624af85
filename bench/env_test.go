package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/syncer"
)

// short reports the short scale (make bench BENCH_SCALE=short, go test -short).
func short() bool { return testing.Short() }

// setup is the shared test environment (testenv) with production settings:
// auto mode, a 1 s settle, the configuration's own poll interval.
type setup struct {
	*testenv.Env
}

type setupOptions struct {
	processing time.Duration
	rateLimit  int
	rateWindow time.Duration
	perMinute  int
	mode       string
	drop       string // an existing drop folder; default a new one
	state      string // an existing state database; default a new one
}

func newSetup(b *testing.B, o setupOptions) *setup {
	b.Helper()
	if o.mode == "" {
		o.mode = "auto"
	}
	return &setup{testenv.New(b, testenv.Options{PerMinute: o.perMinute, Mode: o.mode, Settle: "1s", PollInterval: "none",
		Drop: o.drop, StatePath: o.state,
		Sim: mapboxsim.Options{ProcessingTime: o.processing, RateLimit: o.rateLimit, RateWindow: o.rateWindow}})}
}

// open opens a daemon on the setup with production settings but for the
// poll pace, which scale divides (1 at full scale).
func (s *setup) open(b *testing.B, scale time.Duration, log *slog.Logger) *daemon.Daemon {
	b.Helper()
	p := syncer.DefaultPollPace
	pace := syncer.PollPace{First: p.First / scale, Max: p.Max / scale, MinGap: p.MinGap / scale, Idle: p.Idle / scale,
		BusyGap: p.BusyGap / scale, BusyMax: p.BusyMax / scale}
	d, err := daemon.Open(s.Config(), daemon.Options{Logger: log, Poll: pace,
		Backoff: syncer.Backoff{Min: syncer.DefaultBackoff.Min / scale, Max: syncer.DefaultBackoff.Max / scale}})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// runInBackground runs d until the returned stop is called; stop waits
// for Run to return.
func runInBackground(d *daemon.Daemon) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() { cancel(); <-done }
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

func (s *setup) status(code int) int {
	n := 0
	for _, byStatus := range s.Srv.StatusCounts() {
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
