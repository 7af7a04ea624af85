package mapbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIError is the error every Client method returns when a call fails (other
// than a Gate refusal). It names the endpoint and the path, never the query,
// and unwraps to exactly one of the package's error classes, plus the
// transport error (with the URL removed) when there was no answer.
type APIError struct {
	Endpoint Endpoint
	Method   string
	// Path is the request path; the query (which holds the token) is never kept.
	Path string
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Message is Mapbox's "message", or a description of the failure.
	Message   string
	RateLimit RateLimit
	// RetryAt is, for a 429, when to send again (zero if the answer said nothing).
	RetryAt time.Time

	class error // one of the package's sentinels
	cause error // the transport failure, if any; never quotes the URL
}

// Error reads "create: POST /uploads/v1/alice: HTTP 422: <message>: <class>".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: ", e.Endpoint, e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	if e.Message != "" {
		b.WriteString(e.Message)
		b.WriteString(": ")
	}
	b.WriteString(e.class.Error())
	return b.String()
}

// Unwrap returns the error class and, for transport failures, the cause.
func (e *APIError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.class, e.cause}
	}
	return []error{e.class}
}

// Class returns the package sentinel the error belongs to.
func (e *APIError) Class() error { return e.class }

// classes are the sentinels, for classOf.
var classes = []error{ErrUnauthorized, ErrMissingScope, ErrInvalid, ErrNotFound, ErrTilesetBusy,
	ErrRateLimited, ErrTransient, ErrProcessing, ErrCredentialsExpired}

// classOf returns the sentinel err wraps, or nil.
func classOf(err error) error {
	for _, c := range classes {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// RetryAt returns when a rate-limited call may be sent again: the later of
// X-Rate-Limit-Reset and Retry-After. ok is false when err is not a 429 or
// the answer named no time.
func RetryAt(err error) (t time.Time, ok bool) {
	var e *APIError
	if !errors.As(err, &e) || e.class != ErrRateLimited || e.RetryAt.IsZero() {
		return time.Time{}, false
	}
	return e.RetryAt, true
}

// busyMessage matches Mapbox's words for "another upload to this tileset is
// still being processed", for 422 answers that mean busy, and, on MTS, for a
// publish refused because the account has too many jobs queued.
var busyMessage = regexp.MustCompile(`(?i)in progress|still processing|currently processing|being processed|busy|jobs? queued|queue is full`)

// Classify maps an HTTP status of an answer from endpoint ep, with Mapbox's
// message, to one of the package's error classes. 2xx maps to nil. This is
// the one place where answers are classified.
func Classify(ep Endpoint, status int, message string) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusForbidden && mtsScope(ep) != "" && scopeMessage.MatchString(message):
		return ErrMissingScope // MTS names the scope a token lacks in a 403
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ErrUnauthorized
	case status == http.StatusNotFound:
		switch ep {
		case EndpointCredentials, EndpointCreate, EndpointList:
			// Nothing to be missing on these paths but the scope: Mapbox
			// answers 404 to a token without it.
			return ErrMissingScope
		}
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrTilesetBusy
	case status == http.StatusUnprocessableEntity && busyMessage.MatchString(message):
		return ErrTilesetBusy
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status == http.StatusRequestTimeout, status >= 500, status < 200, status >= 300 && status < 400:
		return ErrTransient
	}
	return ErrInvalid
}

// scopeOf is the scope an endpoint needs.
func scopeOf(ep Endpoint) string {
	if s := mtsScope(ep); s != "" {
		return s
	}
	switch ep {
	case EndpointStatus:
		return "uploads:read"
	case EndpointList:
		return "uploads:list"
	}
	return "uploads:write"
}

// statusError builds the error for an answer with an unexpected status.
func (c *Client) statusError(ep Endpoint, method, path string, status int, rl RateLimit, body []byte) *APIError {
	msg := c.bodyMessage(body)
	class := Classify(ep, status, msg)
	if class == nil { // a 2xx that the endpoint does not answer
		class = ErrTransient
		msg = "unexpected status"
	}
	e := &APIError{Endpoint: ep, Method: method, Path: path, Status: status, Message: msg, RateLimit: rl, class: class}
	switch class {
	case ErrMissingScope:
		e.Message = "token lacks the " + scopeOf(ep) + " scope"
	case ErrNotFound:
		if e.Message == "" {
			e.Message = "upload not found"
			if mtsScope(ep) != "" {
				e.Message = "not found"
			}
		}
	case ErrRateLimited:
		e.RetryAt = rl.Reset
		if rl.RetryAfter.After(e.RetryAt) {
			e.RetryAt = rl.RetryAfter
		}
	}
	return e
}

// bodyMessage extracts Mapbox's {"message": "..."} (at most maxMessage
// bytes), or an excerpt of a body that is not that JSON (at most
// maxExcerpt), with the token redacted before either is cut.
func (c *Client) bodyMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return c.excerpt(m.Message, maxMessage)
	}
	return c.excerpt(strings.TrimSpace(string(body)), maxExcerpt)
}

// transportError builds the error for a call that got no (complete) answer.
// net/http's *url.Error quotes the whole URL, token included: it is dropped
// and only its cause is kept, with its text redacted (it may quote a line of
// the answer) and cut to maxMessage.
func (c *Client) transportError(k call, path string, status int, rl RateLimit, err error) *APIError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := c.excerpt(err.Error(), maxMessage)
	switch {
	case errors.Is(err, context.Canceled):
		msg = "canceled: " + msg
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		msg = "timeout: " + msg
	}
	return &APIError{Endpoint: k.ep, Method: k.method, Path: path, Status: status, Message: msg,
		RateLimit: rl, class: ErrTransient, cause: redactedError{err: err, text: msg}}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// redactedError keeps a cause for errors.Is/As while printing redacted text.
type redactedError struct {
	err  error
	text string
}

func (r redactedError) Error() string { return r.text }
func (r redactedError) Unwrap() error { return r.err }

// RateLimit is what an answer said about the account's rate limit. Absent or
// malformed headers leave zero values.
type RateLimit struct {
	// Interval is X-Rate-Limit-Interval: the window length.
	Interval time.Duration
	// Limit is X-Rate-Limit-Limit: requests allowed per window.
	Limit int
	// Reset is X-Rate-Limit-Reset: when the window resets.
	Reset time.Time
	// RetryAfter is Retry-After (seconds or an HTTP date) made absolute.
	RetryAfter time.Time
}

// Known reports whether the answer carried any rate-limit header.
func (r RateLimit) Known() bool {
	return r.Interval != 0 || r.Limit != 0 || !r.Reset.IsZero() || !r.RetryAfter.IsZero()
}

// ParseRateLimit reads the rate-limit headers of an answer received at now.
func ParseRateLimit(h http.Header, now time.Time) RateLimit {
	var r RateLimit
	if n, err := strconv.ParseFloat(strings.TrimSpace(h.Get("X-Rate-Limit-Interval")), 64); err == nil && n > 0 && n < 1e9 {
		r.Interval = time.Duration(n * float64(time.Second))
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Rate-Limit-Limit"))); err == nil && n > 0 {
		r.Limit = n
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Rate-Limit-Reset")), 10, 64); err == nil && n > 0 && n < 1<<40 {
		r.Reset = time.Unix(n, 0)
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<31 {
			r.RetryAfter = now.Add(time.Duration(n) * time.Second)
		} else if t, err := http.ParseTime(v); err == nil {
			r.RetryAfter = t
		}
	}
	return r
}
