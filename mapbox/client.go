package mapbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Mapbox's API host.
const DefaultBaseURL = "https://api.mapbox.com"

// Endpoint names one endpoint of the Uploads API. It is what the Gate and
// Observe hooks, log lines and errors use to say which call is meant.
type Endpoint string

// The endpoints of the Uploads API.
const (
	EndpointCredentials Endpoint = "credentials" // POST /uploads/v1/{username}/credentials
	EndpointCreate      Endpoint = "create"      // POST /uploads/v1/{username}
	EndpointStatus      Endpoint = "status"      // GET /uploads/v1/{username}/{id}
	EndpointList        Endpoint = "list"        // GET /uploads/v1/{username}
	EndpointDelete      Endpoint = "delete"      // DELETE /uploads/v1/{username}/{id}
)

// Endpoints lists every endpoint, in pipeline order.
var Endpoints = []Endpoint{EndpointCredentials, EndpointCreate, EndpointStatus, EndpointList, EndpointDelete}

// Exchange describes one attempt, handed to Options.Observe after it ends.
type Exchange struct {
	Endpoint Endpoint
	// Status is the HTTP status, 0 when no answer came (transport failure).
	Status int
	// RateLimit is parsed from the answer's headers (zero values when absent).
	RateLimit RateLimit
	Start     time.Time
	Duration  time.Duration
	// ServerTime is the answer's Date header: Mapbox's clock, to the second
	// (zero when absent). Client.ClockOffset learns from it.
	ServerTime time.Time
	// Err is the classified error the method returns, nil on success.
	Err error
}

// Options configure a Client. Token is the only secret; Options print it as
// [redacted] with %v, %+v and %#v.
type Options struct {
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	// Username is the Mapbox account the uploads belong to.
	Username string
	// Token is a Mapbox access token with the uploads:* scopes.
	Token string
	// HTTPClient defaults to NewHTTPClient().
	HTTPClient *http.Client
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// Gate, if set, is called before every request is sent, and may block
	// (a rate limiter). If it returns an error the request is not sent and
	// the method returns that error (wrapped; it matches ErrTransient unless
	// it already matches one of the package's error classes).
	Gate func(ctx context.Context, ep Endpoint) error
	// Observe, if set, is called after every attempt that was sent, from the
	// goroutine that made the call.
	Observe func(Exchange)
}

// String prints the options without the token.
func (o Options) String() string {
	return fmt.Sprintf("mapbox.Options{BaseURL:%q Username:%q Token:[redacted]}", o.BaseURL, o.Username)
}

// GoString prints the options without the token.
func (o Options) GoString() string { return o.String() }

// secret holds the token so that no formatting verb can print it.
type secret string

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }

// Client calls the Uploads API for one account. It never retries: each method
// makes exactly one request (unless Gate refuses it) and classifies the
// outcome as one of the package's error classes. A Client is safe for
// concurrent use.
type Client struct {
	base     *url.URL
	username string
	token    secret
	http     *http.Client
	log      *slog.Logger
	gate     func(ctx context.Context, ep Endpoint) error
	observe  func(Exchange)
	clock    serverClock
}

// New checks the options and returns a Client.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("mapbox: base URL %q is not an http(s) URL: %w", o.BaseURL, ErrInvalid)
	}
	if base.RawQuery != "" || base.User != nil {
		return nil, fmt.Errorf("mapbox: base URL must not carry a query or user info: %w", ErrInvalid)
	}
	if o.Username == "" {
		return nil, fmt.Errorf("mapbox: username is empty: %w", ErrInvalid)
	}
	if o.Token == "" {
		return nil, fmt.Errorf("mapbox: token is empty: %w", ErrUnauthorized)
	}
	c := &Client{
		base:     base,
		username: o.Username,
		token:    secret(o.Token),
		http:     o.HTTPClient,
		log:      o.Logger,
		gate:     o.Gate,
		observe:  o.Observe,
	}
	if c.http == nil {
		c.http = NewHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// String prints the client without the token.
func (c *Client) String() string {
	return fmt.Sprintf("mapbox.Client{%s, user %s, token [redacted]}", c.base, c.username)
}

// GoString prints the client without the token.
func (c *Client) GoString() string { return c.String() }

// Username is the account the client uploads to.
func (c *Client) Username() string { return c.username }

// NewHTTPClient returns the HTTP client New uses by default: connect and TLS
// handshake within 10 s, response headers within 30 s, kept-alive connections,
// no overall timeout (a caller's context bounds a call), and redirects not
// followed (a redirect would carry the token to another URL).
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// maxBody bounds what is read of an answer: the list is capped at 1 MB of JSON.
const maxBody = 4 << 20

// call is one request to make.
type call struct {
	ep     Endpoint
	method string
	path   string // below root, "" or "/...", escaped
	// root is the escaped path the call's path is below; "" means the
	// Uploads API's /uploads/v1/{username}.
	root  string
	query url.Values
	body  []byte
	// stream, if set, is sent instead of body, once (never replayed), as
	// contentType, with length bytes (-1: unknown, sent chunked).
	stream      io.Reader
	length      int64
	contentType string
	want        []int // success statuses
	// out, if set, receives the decoded JSON of a successful answer, and
	// check, if set, says what is wrong with it ("" if nothing).
	out   any
	check func() string
	// header, if set, receives the answer's headers before check runs.
	header *http.Header
	// refused, if set, says why a decoded 2xx answer refuses the request
	// ("" if it does not): the call fails with ErrInvalid and that message
	// (MTS answers some refusals 200 with an "error" property).
	refused func() string
}

// answer is what came back from a successful call.
type answer struct {
	status int
	body   []byte
}

// do sends one request and classifies the outcome. Errors are *APIError
// (or a Gate error), and never contain the token.
func (c *Client) do(ctx context.Context, k call) (answer, error) {
	if c.gate != nil {
		if err := c.gate(ctx, k.ep); err != nil {
			if classOf(err) != nil {
				return answer{}, fmt.Errorf("mapbox %s: not sent: %w", k.ep, notSentError{err})
			}
			return answer{}, fmt.Errorf("mapbox %s: not sent: %w: %w", k.ep, ErrTransient, notSentError{err})
		}
	}
	path := k.fullPath(c.username)
	start := time.Now()
	var conn connWatch
	req, err := c.request(conn.watch(ctx), k, path)
	if err != nil {
		return answer{}, err
	}

	var a answer
	var rl RateLimit
	var serverNow, got time.Time
	resp, err := c.http.Do(req)
	if err == nil {
		got = time.Now()
		a.status = resp.StatusCode
		rl = ParseRateLimit(resp.Header, got)
		if serverNow = serverTime(resp.Header); !serverNow.IsZero() {
			c.clock.sample(serverNow, start, got)
		}
		if k.header != nil {
			*k.header = resp.Header
		}
		a.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}
	var apiErr *APIError
	switch {
	case err != nil:
		apiErr = c.transportError(k, path, a.status, rl, err)
		if a.status == 0 && conn.neverConnected(err) {
			apiErr.cause = notSentError{apiErr.cause}
		}
	case !contains(k.want, a.status):
		apiErr = c.statusError(k.ep, k.method, path, a.status, rl, a.body)
		retryAtLocal(apiErr, serverNow, got)
	case k.out != nil:
		msg, class := "", ErrTransient
		if json.Unmarshal(a.body, k.out) != nil {
			msg = "answer is not the expected JSON"
		} else if why := refusal(k); why != "" {
			msg, class = c.excerpt(why, maxMessage), ErrInvalid
		} else if k.check != nil {
			msg = k.check()
		}
		if msg != "" {
			apiErr = &APIError{Endpoint: k.ep, Method: k.method, Path: path, Status: a.status, Message: msg, RateLimit: rl, class: class}
		}
	}
	dur := time.Since(start)
	var result error
	if apiErr != nil {
		result = apiErr
		c.log.DebugContext(ctx, "mapbox request", "endpoint", string(k.ep), "method", k.method, "path", path,
			"status", a.status, "duration", dur, "error", apiErr.Error())
	} else {
		c.log.DebugContext(ctx, "mapbox request", "endpoint", string(k.ep), "method", k.method, "path", path,
			"status", a.status, "duration", dur)
	}
	if c.observe != nil {
		c.observe(Exchange{Endpoint: k.ep, Status: a.status, RateLimit: rl, Start: start, Duration: dur, ServerTime: serverNow, Err: result})
	}
	if apiErr != nil {
		return a, apiErr
	}
	return a, nil
}

// fullPath is the call's escaped path: below root, or below the Uploads
// API's /uploads/v1/{username}.
func (k call) fullPath(username string) string {
	root := k.root
	if root == "" {
		root = "/uploads/v1/" + url.PathEscape(username)
	}
	return root + k.path
}

// request builds the HTTP request of a call to path, the token in its query.
func (c *Client) request(ctx context.Context, k call, path string) (*http.Request, error) {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	u.Path, _ = url.PathUnescape(u.RawPath)
	q := url.Values{}
	for key, vs := range k.query {
		q[key] = vs
	}
	q.Set("access_token", string(c.token))
	u.RawQuery = q.Encode()

	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	if k.stream != nil {
		body = k.stream
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), body)
	if err != nil {
		// Only an invalid method or URL gets here; neither is quoted.
		return nil, &APIError{Endpoint: k.ep, Method: k.method, Path: path, class: ErrInvalid, Message: "cannot build the request",
			cause: notSentError{errors.New("not sent")}}
	}
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if k.stream != nil {
		req.Header.Set("Content-Type", k.contentType)
		req.ContentLength = k.length // -1: chunked
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cache-Control", "no-cache")
	return req, nil
}

// refusal is k.refused's verdict, "" when it has none.
func refusal(k call) string {
	if k.refused == nil {
		return ""
	}
	return k.refused()
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
