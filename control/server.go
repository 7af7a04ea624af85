package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// Source is what the control endpoint reads of a running daemon
// (*daemon.Daemon). Each method is called per request: it returns what
// holds now.
type Source interface {
	// Records is the state database.
	Records() Records
	// Activity is what the pipeline did since it started and does now.
	Activity() Activity
	// BudgetStats describes the API rate budget.
	BudgetStats() ratelimit.Stats
	// Folders describes each watch folder.
	Folders() []watcher.Status
}

// Records is what the control endpoint reads of the state database
// (*state.Store).
type Records interface {
	Counts() (map[state.Stage]int, error)
	Snapshot(limit int) (state.Snapshot, error)
	RecentHistory(n int) ([]state.HistoryEntry, error)
}

var _ Records = (*state.Store)(nil)

// Activity is what the pipeline (intake and sender) did since it started,
// and what it does now.
type Activity struct {
	// Seen counts the file reports taken; Queued, the jobs queued.
	Seen, Queued int64
	// Outcomes since start.
	Uploaded, Unchanged, Refused, Failed, Cancelled int64
	BytesStaged                                     int64
	// Transfers is the staging progress of the jobs being staged, by job ID.
	Transfers map[uint64]Progress
	// AuthError is the error of a refused token while nothing is being sent
	// because of it.
	AuthError error
	// LastDone is when an upload last completed (zero if none since start).
	LastDone time.Time
	// MTS counts the Tiling Service's publish jobs that ended since start.
	MTS Publishes
}

// Publishes count the MTS publish jobs that ended since the daemon
// started.
type Publishes struct {
	// Succeeded, Failed and Superseded count them by how Mapbox ended them.
	Succeeded, Failed, Superseded int64
	// ComputeUnits are those Mapbox reported for the successful ones.
	ComputeUnits float64
	// Warnings counts their warnings by code ("W201": features dropped).
	Warnings map[string]int64
}

// Progress is how far one staging has gone.
type Progress struct{ Sent, Total int64 }

// Options configure a Server.
type Options struct {
	Source Source
	// API counts the API requests; the daemon chains its Observe to the
	// Mapbox client. Nil: a fresh one (the requests metric stays empty).
	API     *APIMetrics
	Version string
	Logger  *slog.Logger
	// StallAfter is how long pending work may go without progress before
	// /healthz fails; zero: DefaultStallAfter.
	StallAfter time.Duration
	// Clock tells the time; nil: clock.Real.
	Clock clock.Clock
	// Hosts are the names (or addresses) accepted in a request's Host
	// header besides loopback addresses and localhost (config.Control.Hosts);
	// see guard.
	Hosts []string
	// IdleTimeout is how long a kept-alive connection may wait for its next
	// request; zero: DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Actions are what the page's buttons and the CLI may change
	// (actions.go); nil: the action paths answer 501.
	Actions Actions
}

// Server serves /healthz, /metrics, /status, the status page and the
// actions. Create it with New, serve it with Serve.
type Server struct {
	src        Source
	api        *APIMetrics
	version    string
	log        *slog.Logger
	stallAfter time.Duration
	hosts      []string
	idle       time.Duration
	now        func() time.Time
	started    time.Time
	prog       progress
	handler    http.Handler
	actions    Actions
	token      string // this start's action token (actions.go); never logged

	lastMu   sync.Mutex
	lastOld  time.Time // the last success recorded in the history at start
	lastRead bool
}

// New builds a Server; it listens only in Serve.
func New(opts Options) (*Server, error) {
	if opts.Source == nil {
		return nil, errors.New("control: Source is required")
	}
	s := &Server{src: opts.Source, api: opts.API, version: opts.Version, log: opts.Logger,
		stallAfter: opts.StallAfter, hosts: opts.Hosts, idle: opts.IdleTimeout, now: clock.Or(opts.Clock).Now,
		actions: opts.Actions}
	if s.api == nil {
		s.api = NewAPIMetrics()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.stallAfter <= 0 {
		s.stallAfter = DefaultStallAfter
	}
	if s.idle <= 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.started = s.now()
	var err error
	if s.token, err = newActionToken(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(s.api.requests); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	reg.MustRegister(newCollector(s), newFleetCollector(s), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s.log}}))
	mux.HandleFunc("GET /status", s.serveStatus)
	s.routePage(mux)
	s.routeActions(mux)
	s.handler = s.guard(mux)
	return s, nil
}

// Handler serves the endpoints (for tests, or to mount elsewhere), behind
// the Host and Origin checks of guard.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx is cancelled, then shuts down (waiting up
// to two seconds for requests in progress) and returns nil. ln is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.handler,
		ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: s.idle, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.log.Info("control endpoint listening", "addr", Addr(ln))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("control endpoint: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("control endpoint: %w", err)
	}
	return nil
}

// Addr is a listener's address as config.Control.Listen writes it.
func Addr(ln net.Listener) string {
	if a := ln.Addr(); a.Network() == "unix" {
		return "unix:" + a.String()
	}
	return ln.Addr().String()
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	h := s.Health()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !h.OK {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, h.Reason)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	limit := DefaultStatusLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			http.Error(w, "limit must be a number from 0 to 10000", http.StatusBadRequest)
			return
		}
		limit = n
	}
	st, err := s.Status(limit)
	if err != nil {
		s.log.Warn("control: status", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}

// lastSuccess is when an upload last completed: since start from the
// syncer, before that from the history (read once).
func (s *Server) lastSuccess() time.Time {
	if t := s.src.Activity().LastDone; !t.IsZero() {
		return t
	}
	s.lastMu.Lock()
	defer s.lastMu.Unlock()
	if !s.lastRead {
		recent, err := s.src.Records().RecentHistory(100)
		if err != nil {
			return time.Time{} // read again next time
		}
		s.lastOld, s.lastRead = lastUploaded(recent), true
	}
	return s.lastOld
}

// slogPrinter is promhttp's error log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }
