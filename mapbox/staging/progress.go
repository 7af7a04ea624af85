package staging

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Progress reports are throttled to one per progressBytes sent or
// progressInterval elapsed, whichever comes first, plus one at the end.
const (
	progressBytes    = 1 << 20
	progressInterval = 250 * time.Millisecond
)

// progress counts the bytes of one staging that have reached the wire (or
// were already on S3, for reused parts) and reports them through the hooks.
type progress struct {
	total int64
	sent  atomic.Int64
	hooks *hookCaller

	mu       sync.Mutex
	reported int64
	at       time.Time
}

// add counts n more bytes (negative when a part's attempt is retried) and
// reports if enough bytes or time went by; final forces a report.
func (p *progress) add(n int64, final bool) {
	sent := p.sent.Add(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	if sent <= p.reported { // a retry went back: keep the line monotonic
		return
	}
	now := time.Now()
	if !final && sent-p.reported < progressBytes && now.Sub(p.at) < progressInterval {
		return
	}
	p.reported, p.at = sent, now
	p.hooks.progress(sent, p.total)
}

// partProgress is one request body's share of a progress: at most size bytes,
// reset at each attempt of the request.
type partProgress struct {
	p    *progress
	size int64
	sent atomic.Int64
}

func (pp *partProgress) reset() { pp.p.add(-pp.sent.Swap(0), false) }

func (pp *partProgress) count(n int64) {
	n = min(n, pp.size-pp.sent.Load())
	if n > 0 {
		pp.sent.Add(n)
		pp.p.add(n, false)
	}
}

// done counts whatever the attempts did not (an empty body, say).
func (pp *partProgress) done() { pp.count(pp.size) }

type partProgressKey struct{}

func withPartProgress(ctx context.Context, pp *partProgress) context.Context {
	return context.WithValue(ctx, partProgressKey{}, pp)
}

// HTTPClient is what the SDK sends requests with; *http.Client is one.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// countingClient counts the request body bytes the transport reads (so sends)
// for requests whose context carries a partProgress. Each call of Do is one
// attempt: the SDK retries by calling it again with the body rewound.
type countingClient struct{ inner HTTPClient }

func (c countingClient) Do(req *http.Request) (*http.Response, error) {
	pp, _ := req.Context().Value(partProgressKey{}).(*partProgress)
	if pp != nil && req.Body != nil && req.Body != http.NoBody {
		pp.reset()
		req.Body = &countingBody{ReadCloser: req.Body, pp: pp}
	}
	return c.inner.Do(req)
}

type countingBody struct {
	io.ReadCloser
	pp *partProgress
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.pp.count(int64(n))
	return n, err
}
