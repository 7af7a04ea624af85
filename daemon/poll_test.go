package daemon

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/syncer"
)

// TestPollsLeaveTheBudgetToUploads: while files wait for the budget, every
// list is an upload not made, so lists are rare then (a minute apart,
// doubling while the budget stays busy); the account's whole budget goes
// to credentials and creates. Production pace and limits, 20 times faster:
// 30 requests per 3 s, 3 s processing.
func TestPollsLeaveTheBudgetToUploads(t *testing.T) {
	n := 100
	p := syncer.DefaultPollPace
	scaled := syncer.PollPace{First: p.First / 20, Max: p.Max / 20, MinGap: p.MinGap / 20, Idle: p.Idle / 20, BusyGap: p.BusyGap / 20, BusyMax: p.BusyMax / 20}
	e := newEnv(t, envOptions{rateLimit: 30, perMinute: 600, processing: 3 * time.Second, poll: scaled})
	e.Srv.SetRateLimit(30, 3*time.Second)
	for i := range n {
		e.Write(fmt.Sprintf("f%03d.geojson", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	d := e.runDaemon(Options{})
	uploaded := func(n int) func() bool {
		return func() bool { return d.Syncer().Stats().Uploaded.Load() >= int64(n) }
	}
	testkit.WaitFor(t, "every file uploaded", 2*time.Minute, uploaded(n))
	var lastCreate time.Time
	for _, r := range e.Srv.Requests() {
		if r.Endpoint == mapbox.EndpointCreate {
			lastCreate = r.Time
		}
	}
	lists, all := 0, 0
	for _, r := range e.Srv.Requests() {
		if r.Endpoint == mapbox.EndpointList {
			all++
		}
		if r.Endpoint == mapbox.EndpointList && r.Time.Before(lastCreate) {
			lists++
		}
		if r.Status == http.StatusTooManyRequests {
			t.Errorf("a 429 on %s at %v", r.Endpoint, r.Time)
		}
	}
	// About 20 s of creates: lists at 3 s, 9 s and 21 s at the most.
	t.Logf("%d uploads, %d API requests, %d lists while creates remained, %d in all", n, e.Requests(), lists, all)
	if lists > 3 {
		t.Errorf("%d lists while files waited for the budget, want at most 3 (a gap of 3 s, doubling)", lists)
	}
	// One more file, alone: it is first looked at once most of the
	// processing time learnt from the others (3 s) has passed, not every
	// half second from its create.
	before := e.Srv.Counts()[mapbox.EndpointList]
	e.Write("last.geojson", `{"n":"last"}`)
	testkit.WaitFor(t, "the last file uploaded", 30*time.Second, uploaded(n+1))
	if n := e.Srv.Counts()[mapbox.EndpointList] - before; n > 3 {
		t.Errorf("%d lists for one upload processing 3 s, want at most 3: the first look waits for most of the processing time", n)
	}
}
