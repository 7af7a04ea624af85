package mapboxtest

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
}

// recorder captures the status of an answer and can drop the connection.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
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
	req := Request{Time: start, Method: r.Method, Path: r.URL.Path, Endpoint: ep, Query: q, Status: w.status}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	s.log.Debug("mapboxtest request", "method", r.Method, "path", r.URL.Path, "endpoint", string(ep), "status", w.status)
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
