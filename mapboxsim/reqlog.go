package mapboxsim

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Request is one entry of the server's request log.
type Request struct {
	Time     time.Time // server clock, when it arrived
	Method   string
	Path     string
	Endpoint mapbox.Endpoint // "" for a path the API does not have
	// Query is the query without access_token.
	Query url.Values
	// Status is the answer's status; 0 when the connection was dropped.
	Status int
	// RealStatus is, for a request that FailAfterNext or DropAfterNext
	// served for real and then answered otherwise, the status of the real
	// answer, which the client never saw; 0 for every other request.
	RealStatus int
}

// recorder captures the status of an answer, stamps its Date header from
// the server clock, and can drop the connection. It logs the request once,
// when the handler ends or before it drops the connection: a test that saw
// the drop finds the request in the log.
type recorder struct {
	http.ResponseWriter
	now    func() time.Time
	status int
	real   int    // the real answer's status, under an after-effect fault
	log    func() // logs the request; set by serve
	logged bool
}

// flushLog logs the request if it was not yet.
func (w *recorder) flushLog() {
	if !w.logged && w.log != nil {
		w.logged = true
		w.log()
	}
}

// WriteHeader sets Date from the server clock when the answer is made:
// net/http adds one from the real clock only when it is absent.
func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		w.Header().Set("Date", w.now().UTC().Format(http.TimeFormat))
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// drop closes the connection without an answer.
func (w *recorder) drop() {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	w.flushLog()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // a reset, like a dying load balancer
	}
	conn.Close()
}

var _ http.Hijacker = (*recorder)(nil)

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

func (s *Server) record(r *http.Request, ep mapbox.Endpoint, w *recorder, start time.Time) {
	q := r.URL.Query()
	q.Del("access_token")
	req := Request{Time: start, Method: r.Method, Path: r.URL.Path, Endpoint: ep, Query: q, Status: w.status, RealStatus: w.real}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	s.log.Debug("mapboxsim request", "method", r.Method, "path", r.URL.Path, "endpoint", string(ep), "status", w.status)
}

// Requests returns a copy of the request log, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Counts returns the number of requests per endpoint, whatever the answer
// (dropped connections and injected failures included).
func (s *Server) Counts() map[mapbox.Endpoint]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[mapbox.Endpoint]int{}
	for _, r := range s.requests {
		m[r.Endpoint]++
	}
	return m
}

// StatusCounts returns, per endpoint, the number of requests per status
// (0 for dropped connections).
func (s *Server) StatusCounts() map[mapbox.Endpoint]map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[mapbox.Endpoint]map[int]int{}
	for _, r := range s.requests {
		if m[r.Endpoint] == nil {
			m[r.Endpoint] = map[int]int{}
		}
		m[r.Endpoint][r.Status]++
	}
	return m
}
