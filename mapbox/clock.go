package mapbox

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// clockSamples is how many of the latest offset samples ClockOffset takes
// the median of: one slow answer (a wide sample) does not move it, and a
// step of either clock shows after three answers.
const clockSamples = 5

// serverClock learns Mapbox's clock from the Date header of its answers.
type serverClock struct {
	mu      sync.Mutex
	samples []time.Duration // the latest, oldest first; at most clockSamples
}

// sample records the offset shown by an answer whose Date header is date,
// to a request sent at sent and answered (headers read) at got, both local.
// Date has one-second resolution and is truncated (net/http and Mapbox's
// servers format the second the answer was made), so Mapbox's clock read
// date + [0, 1 s) at some instant between sent and got: the sample is taken
// at the middle of both intervals, date + 0.5 s against the local midpoint,
// and is off by at most 0.5 s plus half the round trip.
func (c *serverClock) sample(date, sent, got time.Time) {
	mid := sent.Add(got.Sub(sent) / 2)
	off := date.Add(500 * time.Millisecond).Sub(mid.Round(0)) // wall clocks, not monotonic
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.samples) == clockSamples {
		c.samples = slices.Delete(c.samples, 0, 1)
	}
	c.samples = append(c.samples, off)
}

// offset is the median of the latest samples (the upper median of an even
// count).
func (c *serverClock) offset() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.samples) == 0 {
		return 0, false
	}
	s := slices.Clone(c.samples)
	slices.Sort(s)
	return s[len(s)/2], true
}

// retryAtLocal makes a 429's RetryAt a time of the local clock, which is
// what a caller waits with. X-Rate-Limit-Reset is a time of Mapbox's clock:
// with the answer's Date it becomes a wait of Reset − Date from when the
// answer came, never early and late by under 1 s plus the round trip, right
// however far apart the clocks are. Retry-After, already relative, is kept;
// the later of the two wins. Without a Date header, Reset is taken as is.
func retryAtLocal(e *APIError, date, got time.Time) {
	if e.class != ErrRateLimited || date.IsZero() || e.RateLimit.Reset.IsZero() {
		return
	}
	e.RetryAt = got.Add(e.RateLimit.Reset.Sub(date))
	if e.RateLimit.RetryAfter.After(e.RetryAt) {
		e.RetryAt = e.RateLimit.RetryAfter
	}
}

// serverTime parses an answer's Date header; zero when absent or malformed.
func serverTime(h http.Header) time.Time {
	v := h.Get("Date")
	if v == "" {
		return time.Time{}
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ClockOffset is Mapbox's clock minus the local clock, learned from the Date
// header of every answer this Client received (errors included: a 429 or a
// 503 carries the server's time too). ok is false until an answer with a
// Date header came. Add it to a local time to compare it with the times
// Mapbox reports (an upload's Created and Modified); subtract it from those
// to get local times.
//
// Precision: Date counts whole seconds, so each answer gives the offset
// within ±(0.5 s + half the round trip); the result is the median of the
// last five answers, within about ±1 s of the truth on a healthy network.
// Do not compare times closer than that. A proxy or captive portal that
// answers in Mapbox's place with its own Date header would mislead it, as
// long as it answers.
func (c *Client) ClockOffset() (offset time.Duration, ok bool) {
	return c.clock.offset()
}
