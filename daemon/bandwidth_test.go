package daemon

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
)

// A daemon with mapbox.bandwidth_limit reports the limit in force in
// /status: one rate, and a timetable with the rate of the moment and when
// it changes.
func TestStatusShowsTheBandwidthLimit(t *testing.T) {
	const timetable = "Mon-08:00,512KiB 18:00,off"
	for _, limit := range []string{"", "2MiB", timetable} {
		t.Run(limit, func(t *testing.T) {
			addr := freeAddr(t)
			e := newEnv(t, envOptions{control: "control:\n  listen: " + addr + "\n"})
			if limit != "" {
				e.withMapboxSetting("bandwidth_limit: " + limit)
			}
			d, err := Open(e.Config(), Options{Logger: e.Logger(), Poll: fastPoll, HTTPClient: testenv.HTTPClient(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			runDaemon(t, d, addr)
			code, body := get(t, addr, "/status")
			if code != http.StatusOK {
				t.Fatalf("/status: %d %s", code, body)
			}
			var st control.Status
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatal(err)
			}
			if limit == "" {
				if st.Bandwidth != nil || strings.Contains(body, `"bandwidth"`) {
					t.Errorf("no limit set, /status shows %+v", st.Bandwidth)
				}
				return
			}
			sched, err := bwlimit.Parse(limit)
			if err != nil {
				t.Fatal(err)
			}
			rate, until := sched.At(time.Now())
			bw := st.Bandwidth
			switch {
			case bw == nil:
				t.Fatalf("/status shows no bandwidth limit:\n%s", body)
			case bw.Limit != limit:
				t.Errorf("limit %q, want %q", bw.Limit, limit)
			case bw.BytesPerSecond != rate:
				t.Errorf("%d bytes/s in force, want %d", bw.BytesPerSecond, rate)
			case limit == timetable && (bw.Until.IsZero() || bw.Until.After(time.Now().Add(7*24*time.Hour))):
				t.Errorf("until %v, want the next change of the week (%v)", bw.Until, until)
			case limit == "2MiB" && (rate != 2<<20 || !bw.Until.IsZero()):
				t.Errorf("2MiB: %+v, want 2097152 bytes/s for good", bw)
			}
		})
	}
}

// The limit reaches the stager: a file staged under a 64 KiB/s cap takes
// at least as long as the cap allows.
func TestBandwidthLimitSlowsStaging(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withMapboxSetting("bandwidth_limit: 64KiB")
	const size = 160 << 10
	e.Write("big.geojson", `{"type":"FeatureCollection","features":[],"pad":"`+strings.Repeat("x", size)+`"}`)
	start := time.Now()
	sum := e.syncOnce()
	took := time.Since(start)
	if sum.Uploaded != 1 {
		t.Fatalf("summary %+v, want 1 uploaded", sum)
	}
	// The bucket starts with one chunk (6.4 KiB) to spend; the rest goes at 64 KiB/s.
	if least := time.Duration(float64(size-7<<10) / float64(64<<10) * float64(time.Second)); took < least {
		t.Errorf("staging %d bytes under a 64KiB/s cap took %v, want at least %v", size, took, least)
	}
}
