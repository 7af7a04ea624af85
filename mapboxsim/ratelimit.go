package mapboxsim

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// rateWindow is the server's one account-wide rate limit state.
//
// Fixed window (the default): a window opens with the first request after
// the previous one ended and lasts RateWindow; X-Rate-Limit-Reset is its end.
// Sliding window: the requests admitted in the last RateWindow count; the
// reset is when the oldest of them leaves the window.
//
// Only authenticated requests count, and a request refused with 429 does not
// count (it never reached the service), so a client that keeps knocking is
// let in again at the reset time. Mapbox does not document either choice.
type rateWindow struct {
	start    time.Time
	count    int
	admitted []time.Time // sliding window: admission times, oldest first
}

// forcedLimit is the X-Rate-Limit-Limit of a RateLimitFor window on a
// server without a limit: Mapbox's documented default.
const forcedLimit = 30

// admit counts the request against the rate limit, sets the rate-limit
// headers on w, and reports whether the request may proceed.
func (s *Server) admit(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit, window := s.opts.RateLimit, s.opts.RateWindow
	now := s.now()
	if until := s.faults.limitedUntil; now.Before(until) {
		if limit <= 0 {
			limit = forcedLimit
		}
		s.rateHeaders(w, now, limit, until, false)
		return false
	}
	if limit <= 0 {
		return true
	}
	ok, reset := s.window.take(now, limit, window, s.opts.SlidingWindow)
	s.rateHeaders(w, now, limit, reset, ok)
	return ok
}

// take admits a request at now if the window has room for it, and returns
// the window's reset time.
func (rw *rateWindow) take(now time.Time, limit int, window time.Duration, sliding bool) (ok bool, reset time.Time) {
	if sliding {
		cut := 0
		for cut < len(rw.admitted) && !rw.admitted[cut].After(now.Add(-window)) {
			cut++
		}
		rw.admitted = rw.admitted[cut:]
		ok = len(rw.admitted) < limit
		if ok {
			rw.admitted = append(rw.admitted, now)
		}
		if len(rw.admitted) == 0 {
			return ok, now.Add(window)
		}
		return ok, rw.admitted[0].Add(window)
	}
	if rw.start.IsZero() || !now.Before(rw.start.Add(window)) {
		rw.start, rw.count = now, 0
	}
	ok = rw.count < limit
	if ok {
		rw.count++
	}
	return ok, rw.start.Add(window)
}

// rateHeaders sets the rate-limit headers of an answer made at now.
func (s *Server) rateHeaders(w http.ResponseWriter, now time.Time, limit int, reset time.Time, ok bool) {
	setRateHeaders(w.Header(), now, s.opts.RateWindow, limit, reset, !ok && s.opts.RetryAfter)
}

// setRateHeaders sets the three X-Rate-Limit-* headers, and Retry-After if
// retryAfter.
func setRateHeaders(h http.Header, now time.Time, window time.Duration, limit int, reset time.Time, retryAfter bool) {
	h.Set("X-Rate-Limit-Interval", strconv.Itoa(int(math.Ceil(window.Seconds()))))
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	resetUnix := int64(math.Ceil(float64(reset.UnixNano()) / 1e9))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(resetUnix, 10))
	if retryAfter {
		wait := int64(math.Ceil(reset.Sub(now).Seconds()))
		h.Set("Retry-After", strconv.FormatInt(max(wait, 1), 10))
	}
}
