package mapboxsim

import (
	"net/http"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// faults are the failures to inject, guarded by Server.mu.
type faults struct {
	unreachable bool
	delay       time.Duration
	failRate    float64
	failStatus  int
	failNext    []countdown
	dropNext    []countdown
	garbleNext  []countdown
	afterNext   []countdown // FailAfterNext (status) and DropAfterNext (status 0)
	corruptNext int
	// limitedUntil is the end of a RateLimitFor window, on the server clock.
	limitedUntil time.Time
}

// countdown is "the next n requests to ep (any endpoint if ep is empty)".
type countdown struct {
	ep     mapbox.Endpoint
	n      int
	status int
}

// take consumes one from the first countdown matching ep.
func take(cs []countdown, ep mapbox.Endpoint) (countdown, []countdown, bool) {
	for i, c := range cs {
		if c.ep == "" || c.ep == ep {
			cs[i].n--
			if cs[i].n <= 0 {
				cs = append(cs[:i:i], cs[i+1:]...)
			}
			return c, cs, true
		}
	}
	return countdown{}, cs, false
}

// FailNext makes the next n answers to ep (every endpoint if ep is "")
// HTTP status (a 5xx, e.g. 500 or 503; anything else becomes 500), before
// any token check: the requests do not take effect (no upload is created,
// no credentials minted), as when a load balancer finds no backend.
func (s *Server) FailNext(ep mapbox.Endpoint, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext = append(s.faults.failNext, countdown{ep: ep, n: n, status: status})
}

// FailAfterNext makes the next n requests to ep (every endpoint if ep is
// "") take effect, and then answers them HTTP status (a 5xx, e.g. 502 or
// 504; anything else becomes 500) instead of the real answer: the upload IS
// created, the credentials ARE minted, the delete IS done, but the client
// sees a failure, as when a gateway times out on a backend that finished.
// The request goes the whole way (token, rate limit, validation) and its
// real outcome, whatever it was, is lost: Request.RealStatus keeps it.
// FailNext and DropNext, which strike first, do not consume it.
func (s *Server) FailAfterNext(ep mapbox.Endpoint, n, status int) {
	if status < 500 || status > 599 {
		status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.afterNext = append(s.faults.afterNext, countdown{ep: ep, n: n, status: status})
}

// DropAfterNext is FailAfterNext with the connection closed (reset) instead
// of an answer: the request takes effect and its answer is lost. As with
// DropNext, net/http sends a GET again by itself when a kept-alive
// connection is dropped, and that retry is served normally.
func (s *Server) DropAfterNext(ep mapbox.Endpoint, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.afterNext = append(s.faults.afterNext, countdown{ep: ep, n: n})
}

// RateLimitFor answers every authenticated request 429 until d has passed
// on the server clock (Options.Clock), as when another client sharing the
// account spent its budget: a 429 window. The answers carry
// X-Rate-Limit-Interval (Options.RateWindow), X-Rate-Limit-Limit
// (Options.RateLimit, or Mapbox's documented default of 30 when the server
// is unlimited) and X-Rate-Limit-Reset at the end of the window, and
// Retry-After if Options.RetryAfter. Refused requests do not count against
// the ordinary limit, which applies again afterwards. d <= 0 ends the
// window; ClearFaults too.
func (s *Server) RateLimitFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.limitedUntil = time.Time{}
	if d > 0 {
		s.faults.limitedUntil = s.now().Add(d)
	}
}

// takeAfter consumes one after-effect fault for ep, if any.
func (s *Server) takeAfter(ep mapbox.Endpoint) (countdown, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, rest, ok := take(s.faults.afterNext, ep)
	s.faults.afterNext = rest
	return c, ok
}

// answer replaces the real answer of a request under an after-effect fault:
// its status, or a dropped connection when the status is 0.
func (c countdown) answer(w *recorder) {
	if c.status == 0 {
		w.drop()
		return
	}
	writeMessage(w, c.status, "%s", http.StatusText(c.status))
}

// SetFailureRate makes a fraction p (0..1) of the answers HTTP status,
// chosen by a random source seeded with seed. p = 0 turns it off.
func (s *Server) SetFailureRate(p float64, status int, seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failRate, s.faults.failStatus = p, status
	s.pcg.Seed(seed, seed^0x9e3779b97f4a7c15)
}

// DropNext makes the server close the connection of the next n requests to
// ep (every endpoint if ep is "") without answering.
func (s *Server) DropNext(ep mapbox.Endpoint, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.dropNext = append(s.faults.dropNext, countdown{ep: ep, n: n})
}

// GarbleNext makes the next n answers to ep (every endpoint if ep is "")
// a 200 with an HTML body, as a captive portal or a broken proxy answers.
func (s *Server) GarbleNext(ep mapbox.Endpoint, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.garbleNext = append(s.faults.garbleNext, countdown{ep: ep, n: n})
}

// SetDelay delays every answer by d (0 turns it off). The delay is real
// time, not the server clock; it ends early when the client gives up.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.delay = d
}

// CorruptNextCredentials makes the next n credentials answers carry a
// session token the S3 server rejects (as it rejects expired credentials).
func (s *Server) CorruptNextCredentials(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.corruptNext += n
}

// SetUnreachable makes the API answer every request by closing the
// connection, until called with false.
func (s *Server) SetUnreachable(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.unreachable = down
}

// ClearFaults turns every injected fault off.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faults{}
	s.mts.clearFaults(s.now())
}

// injectFault applies the faults to one request and reports whether it
// answered (or dropped) it.
func (s *Server) injectFault(w *recorder, r *http.Request, ep mapbox.Endpoint) bool {
	s.mu.Lock()
	f := &s.faults
	drop := f.unreachable
	if !drop {
		_, f.dropNext, drop = take(f.dropNext, ep)
	}
	delay := f.delay
	c, rest, fail := take(f.failNext, ep)
	f.failNext = rest
	status := c.status
	if !fail && f.failRate > 0 && s.rng.Float64() < f.failRate {
		fail, status = true, f.failStatus
	}
	var garble bool
	if !fail {
		_, f.garbleNext, garble = take(f.garbleNext, ep)
	}
	s.mu.Unlock()

	if drop {
		w.drop()
		return true
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			w.drop()
			return true
		}
	}
	if fail {
		if status < 500 {
			status = http.StatusInternalServerError
		}
		writeMessage(w, status, "%s", http.StatusText(status))
		return true
	}
	if garble {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("<html><body>Please log in to the network</body></html>"))
		return true
	}
	return false
}

// takeCorrupt reports whether this credentials answer is to be corrupted.
func (s *Server) takeCorrupt() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.corruptNext > 0 {
		s.faults.corruptNext--
		return true
	}
	return false
}
