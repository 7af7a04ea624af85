package mapboxsim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

// The scopes a token can hold.
const (
	ScopeWrite = "uploads:write"
	ScopeRead  = "uploads:read"
	ScopeList  = "uploads:list"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// Username is the account of Token (default "tilesyncd").
	Username string
	// Token holds every uploads and tilesets scope (default "pk.test-token").
	Token string
	// Storage is the S3 server behind the staging bucket. Required.
	Storage Storage
	// ProcessingTime is how long, on the server clock, an upload takes to
	// finish after create (default 2 s).
	ProcessingTime time.Duration
	// RateLimit is the requests allowed per RateWindow; 0 means unlimited
	// (and no rate-limit headers are sent).
	RateLimit int
	// RateWindow defaults to 60 s.
	RateWindow time.Duration
	// SlidingWindow counts the requests of the last RateWindow instead of a
	// fixed window that resets RateWindow after its first request.
	SlidingWindow bool
	// RetryAfter adds a Retry-After header (seconds) to 429 answers; Mapbox
	// does not document one.
	RetryAfter bool
	// CredentialLifetime is the lifetime asked of Storage.Mint (default 1 h).
	CredentialLifetime time.Duration
	// BusyStatus is the answer to a create while the tileset is processing:
	// 409 (default) or 422.
	BusyStatus int
	// Clock is the server clock (default clock.Real): processing and rate
	// windows follow it, so a test can drive them with a clock.Manual, or
	// put Mapbox's clock off this machine's with a clock.Offset.
	Clock clock.Clock
	// Logger gets one debug line per request; nil discards.
	Logger *slog.Logger
	// MTS configures the Mapbox Tiling Service routes (/tilesets/v1/…).
	MTS MTSOptions
}

// Server is a running fake of the Mapbox Uploads API. All its methods are
// safe for concurrent use, also while requests are being served.
type Server struct {
	opts Options
	ts   *httptest.Server
	log  *slog.Logger

	mu              sync.Mutex
	tokens          map[string]account
	uploads         map[string]*upload
	order           []*upload // in creation order
	outcomes        map[string]string
	contentOutcomes map[string]string
	window          rateWindow
	faults          faults
	requests        []Request
	pcg             *rand.PCG
	rng             *rand.Rand
	listCap         int // bytes of JSON a list answer may hold
	mts             *mtsState
}

type account struct {
	username string
	scopes   map[string]bool
}

// New starts a server on a loopback port. It panics if o.Storage is nil,
// like httptest.NewServer panics when it cannot listen.
func New(o Options) *Server {
	if o.Storage == nil {
		panic("mapboxsim: Options.Storage is required")
	}
	if o.Username == "" {
		o.Username = "tilesyncd"
	}
	if o.Token == "" {
		o.Token = "pk.test-token"
	}
	if o.ProcessingTime <= 0 {
		o.ProcessingTime = 2 * time.Second
	}
	if o.RateWindow <= 0 {
		o.RateWindow = time.Minute
	}
	if o.CredentialLifetime <= 0 {
		o.CredentialLifetime = time.Hour
	}
	if o.BusyStatus != http.StatusUnprocessableEntity {
		o.BusyStatus = http.StatusConflict
	}
	o.Clock = clock.Or(o.Clock)
	s := &Server{
		opts:            o,
		log:             o.Logger,
		tokens:          map[string]account{},
		uploads:         map[string]*upload{},
		outcomes:        map[string]string{},
		contentOutcomes: map[string]string{},
		pcg:             rand.NewPCG(1, 2),
		listCap:         maxListBytes,
		mts:             newMTSState(o.MTS),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.rng = rand.New(s.pcg)
	s.AddToken(o.Token, ScopeWrite, ScopeRead, ScopeList, ScopeTilesetsWrite, ScopeTilesetsRead, ScopeTilesetsList)
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to give mapbox.Options.BaseURL.
func (s *Server) URL() string { return s.ts.URL }

// Close shuts the server down, dropping open connections.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Username is the server's account.
func (s *Server) Username() string { return s.opts.Username }

// Token is the all-scopes token of the account.
func (s *Server) Token() string { return s.opts.Token }

// Storage is the S3 server behind the staging bucket.
func (s *Server) Storage() Storage { return s.opts.Storage }

// AddToken makes token valid for the server's account with the given scopes.
func (s *Server) AddToken(token string, scopes ...string) {
	s.AddAccountToken(s.opts.Username, token, scopes...)
}

// AddAccountToken makes token valid for another account, to test that the
// username in the path must be the token's.
func (s *Server) AddAccountToken(username, token string, scopes ...string) {
	a := account{username: username, scopes: map[string]bool{}}
	for _, sc := range scopes {
		a.scopes[sc] = true
	}
	s.mu.Lock()
	s.tokens[token] = a
	s.mu.Unlock()
}

// SetRateLimit changes the limit and window (limit 0: unlimited) and starts
// a new window.
func (s *Server) SetRateLimit(limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RateLimit = limit
	if window > 0 {
		s.opts.RateWindow = window
	}
	s.window = rateWindow{}
}

// SetProcessingTime changes the time uploads created from now on take.
func (s *Server) SetProcessingTime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d > 0 {
		s.opts.ProcessingTime = d
	}
}

func (s *Server) now() time.Time { return s.opts.Clock.Now() }

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeMessage answers with Mapbox's error shape {"message": "..."}.
func writeMessage(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"message": fmt.Sprintf(format, args...)})
}

// route names the endpoint of a request, and the upload id for status and
// delete. ok is false for paths the API does not have.
func route(r *http.Request) (ep mapbox.Endpoint, user, id string, ok bool) {
	rest, found := strings.CutPrefix(r.URL.Path, "/uploads/v1/")
	if !found || rest == "" {
		return "", "", "", false
	}
	user, id, _ = strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case id == "" && r.Method == http.MethodPost:
		return mapbox.EndpointCreate, user, "", true
	case id == "" && r.Method == http.MethodGet:
		return mapbox.EndpointList, user, "", true
	case id == "credentials" && r.Method == http.MethodPost:
		return mapbox.EndpointCredentials, user, "", true
	case strings.Contains(id, "/"):
		return "", "", "", false
	case r.Method == http.MethodGet:
		return mapbox.EndpointStatus, user, id, true
	case r.Method == http.MethodDelete:
		return mapbox.EndpointDelete, user, id, true
	}
	return "", "", "", false
}

// scopeFor is the scope an endpoint needs (from Mapbox's reference).
func scopeFor(ep mapbox.Endpoint) string {
	switch ep {
	case mapbox.EndpointStatus:
		return ScopeRead
	case mapbox.EndpointList:
		return ScopeList
	}
	return ScopeWrite
}

// serve is the whole request path: faults that strike before the request
// takes effect, then the request (routing, token, rate limit, account,
// scope, the endpoint), its answer replaced or lost under an after-effect
// fault.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	ep, handle := s.dispatch(r)
	rec := &recorder{ResponseWriter: w, now: s.now}
	rec.log = func() { s.record(r, ep, rec, start) }
	defer rec.flushLog()

	if s.injectFault(rec, r, ep) {
		return
	}
	if after, ok := s.takeAfter(ep); ok {
		served := httptest.NewRecorder()
		handle(served, r)
		rec.real = served.Code
		after.answer(rec)
		return
	}
	handle(rec, r)
}

// dispatch names the endpoint of a request and the handler that serves it
// once no fault stopped it: the Uploads API, or MTS below /tilesets/v1/.
func (s *Server) dispatch(r *http.Request) (mapbox.Endpoint, http.HandlerFunc) {
	if t, ok := mtsRoute(r); ok {
		return t.ep, func(w http.ResponseWriter, r *http.Request) { s.handleMTS(w, r, t) }
	}
	ep, user, id, known := route(r)
	return ep, func(w http.ResponseWriter, r *http.Request) { s.handle(w, r, ep, user, id, known) }
}

// authenticate reads the request's token and answers 401 (with Mapbox's
// words) when it is missing or unknown; ok says the request may go on.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (acct account, ok bool) {
	token := r.URL.Query().Get("access_token")
	s.mu.Lock()
	acct, valid := s.tokens[token]
	s.mu.Unlock()
	switch {
	case token == "":
		writeMessage(w, http.StatusUnauthorized, "Not Authorized - No Token")
		return acct, false
	case !valid:
		writeMessage(w, http.StatusUnauthorized, "Not Authorized - Invalid Token")
		return acct, false
	}
	return acct, true
}

// handle serves a request that no fault stopped.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, ep mapbox.Endpoint, user, id string, known bool) {
	if !known {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	acct, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !s.admit(w) {
		writeMessage(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	if user != acct.username {
		writeMessage(w, http.StatusUnauthorized, "Not Authorized - Invalid Token")
		return
	}
	if !acct.scopes[scopeFor(ep)] {
		// Mapbox hides what a token may not see: 404, not 403.
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	switch ep {
	case mapbox.EndpointCredentials:
		s.credentials(w, r)
	case mapbox.EndpointCreate:
		s.create(w, r)
	case mapbox.EndpointStatus:
		s.status(w, id)
	case mapbox.EndpointList:
		s.list(w, r)
	case mapbox.EndpointDelete:
		s.delete(w, id)
	}
}
