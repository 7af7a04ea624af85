package control

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// APIMetrics counts the Mapbox API requests by endpoint and HTTP status. Its
// Observe is chained to the Mapbox client's Observe hook. Safe for
// concurrent use; the zero value is not: use NewAPIMetrics.
type APIMetrics struct {
	requests *prometheus.CounterVec
	answers  atomic.Int64 // exchanges that got an HTTP answer
	last     atomic.Int64 // unix nanoseconds of the last answer
}

// NewAPIMetrics returns counters with nothing counted.
func NewAPIMetrics() *APIMetrics {
	return &APIMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tilesyncd_api_requests_total",
		Help: `Mapbox API requests sent (Uploads API and MTS), by endpoint and HTTP status code ("none": no answer came).`,
	}, []string{"endpoint", "code"})}
}

// Observe counts one exchange (a mapbox.Options.Observe hook).
func (m *APIMetrics) Observe(ex mapbox.Exchange) {
	code := "none"
	if ex.Status != 0 {
		code = strconv.Itoa(ex.Status)
		m.answers.Add(1)
		m.last.Store(ex.Start.Add(ex.Duration).UnixNano())
	}
	m.requests.WithLabelValues(string(ex.Endpoint), code).Inc()
}

// LastAnswer is when the API last answered (zero if never).
func (m *APIMetrics) LastAnswer() time.Time {
	if n := m.last.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// results are the values of tilesyncd_uploads_total's result label.
var results = []string{"uploaded", "unchanged", "refused", "failed", "cancelled"}

// outcomes are the activity's counts in the order of results.
func (a Activity) outcomes() []int64 {
	return []int64{a.Uploaded, a.Unchanged, a.Refused, a.Failed, a.Cancelled}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// collector turns the daemon's counters and statuses into metrics at scrape time.
type collector struct {
	s *Server

	jobs, uploads, seen, staged, waited, rateLimited, spacing, limit, blocked *prometheus.Desc
	watch, watchFiles, lastSuccess, tokenRejected, healthy, build             *prometheus.Desc
	publishes, computeUnits, warnings                                         *prometheus.Desc
}

func newCollector(s *Server) *collector {
	return &collector{s: s,
		jobs:          desc("tilesyncd_jobs", "Jobs in the queue, by stage (queued, staging, staged, processing, retry-wait, failed).", "stage"),
		uploads:       desc("tilesyncd_uploads_total", "Files whose upload ended since the daemon started, by result.", "result"),
		seen:          desc("tilesyncd_files_seen_total", "File reports the daemon has taken since it started: every file of the startup scan, then every change."),
		staged:        desc("tilesyncd_staged_bytes_total", "Bytes staged to Mapbox's S3 bucket since the daemon started (completed stagings)."),
		waited:        desc("tilesyncd_rate_limit_wait_seconds_total", "Time API requests spent waiting for the rate budget."),
		rateLimited:   desc("tilesyncd_rate_limited_total", "429 Too Many Requests answers received."),
		spacing:       desc("tilesyncd_rate_limit_spacing_seconds", "Current spacing between API requests."),
		limit:         desc("tilesyncd_rate_limit_requests", "Requests allowed per window, as learned from Mapbox or configured.", "window"),
		blocked:       desc("tilesyncd_rate_limit_blocked_until_timestamp_seconds", "Until when a 429 or an outage holds every request (0: not held)."),
		watch:         desc("tilesyncd_watch_folders", "Watched folders, with the mode in effect (1 per folder).", "folder", "mode"),
		watchFiles:    desc("tilesyncd_watch_files", "Files tracked in a watched folder.", "folder"),
		lastSuccess:   desc("tilesyncd_last_success_timestamp_seconds", "When an upload last completed (0: never)."),
		tokenRejected: desc("tilesyncd_token_rejected", "1 while Mapbox refuses the token and nothing is sent."),
		healthy:       desc("tilesyncd_healthy", "1 when /healthz answers 200."),
		build:         desc("tilesyncd_build_info", "The running tilesyncd's version (always 1).", "version"),
		publishes: desc("tilesyncd_mts_publish_jobs_total",
			"MTS publish jobs that ended since the daemon started, by result (success, failed, superseded).", "result"),
		computeUnits: desc("tilesyncd_mts_compute_units_total", "Compute units Mapbox reported for the successful MTS publish jobs since the daemon started."),
		warnings: desc("tilesyncd_mts_warnings_total",
			`Warnings of successful MTS publish jobs since the daemon started, by code ("W201": features dropped for tile size).`, "code"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.uploads, c.seen, c.staged, c.waited, c.rateLimited, c.spacing, c.limit,
		c.blocked, c.watch, c.watchFiles, c.lastSuccess, c.tokenRejected, c.healthy, c.build, c.publishes, c.computeUnits, c.warnings} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	src := c.s.src
	counts, err := src.Records().Counts()
	if err != nil {
		c.s.log.Warn("metrics: read the queue", "err", err)
		ch <- prometheus.NewInvalidMetric(c.jobs, err)
	} else {
		for _, st := range state.Stages {
			gauge(c.jobs, float64(counts[st]), st.String())
		}
	}
	act := src.Activity()
	for i, v := range act.outcomes() {
		counter(c.uploads, float64(v), results[i])
	}
	counter(c.seen, float64(act.Seen))
	counter(c.staged, float64(act.BytesStaged))
	for result, v := range map[string]int64{"success": act.MTS.Succeeded, "failed": act.MTS.Failed, "superseded": act.MTS.Superseded} {
		counter(c.publishes, float64(v), result)
	}
	counter(c.computeUnits, act.MTS.ComputeUnits)
	for code, v := range act.MTS.Warnings {
		counter(c.warnings, float64(v), code)
	}
	b := src.BudgetStats()
	counter(c.waited, b.Waited.Seconds())
	counter(c.rateLimited, float64(b.RateLimited))
	gauge(c.spacing, b.Spacing.Seconds())
	gauge(c.limit, float64(b.Limit), b.Window.String())
	blocked := 0.0
	if b.BlockedUntil.After(c.s.now()) {
		blocked = float64(b.BlockedUntil.UnixNano()) / 1e9
	}
	gauge(c.blocked, blocked)
	for _, st := range src.Folders() {
		gauge(c.watch, 1, st.Root, st.Mode)
		gauge(c.watchFiles, float64(st.Files), st.Root)
	}
	last := 0.0
	if t := c.s.lastSuccess(); !t.IsZero() {
		last = float64(t.UnixNano()) / 1e9
	}
	gauge(c.lastSuccess, last)
	rejected := 0.0
	if act.AuthError != nil {
		rejected = 1
	}
	gauge(c.tokenRejected, rejected)
	healthy := 0.0
	if h := c.s.Health(); h.OK {
		healthy = 1
	}
	gauge(c.healthy, healthy)
	gauge(c.build, 1, c.s.version)
}
