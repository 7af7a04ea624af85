package staging

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
)

// Pacing: the request bodies a Stager sends are read in chunks of at most
// chunkFor(rate) bytes, each handed to the transport once the Stager's one
// token bucket (golang.org/x/time/rate) grants it. The bucket's burst is one
// chunk: a tenth of a second's worth at the rate, between 1 KiB and 64 KiB.
// A 16 MiB part is thus sent as a steady stream of small writes, never in
// one burst, and the parts and files in flight share the rate, taking
// chunks in turn. Waiting after each small read, rather than once per part,
// keeps every connection busy enough that S3 does not time it out at low
// rates (it drops a request body that stalls for about 20 seconds).
const (
	minChunk = 1 << 10
	maxChunk = 64 << 10
)

// chunkFor is the chunk (and burst) for a rate in bytes per second.
func chunkFor(bytesPerSecond int64) int {
	return int(min(max(bytesPerSecond/10, minChunk), maxChunk))
}

// clock is the time the bandwidth limit reads and waits on. realClock is
// the machine's; tests substitute one (export_test.go).
type clock interface {
	Now() time.Time
	// SleepUntil returns at t, or with ctx's error when ctx is done first.
	SleepUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// bandwidth is a Stager's limit: its schedule and the token bucket that
// holds the rate in force.
type bandwidth struct {
	clock clock
	log   *slog.Logger

	mu       sync.Mutex
	schedule bwlimit.Schedule
	lim      *rate.Limiter
	rate     int64     // in force; 0: no limit
	chunk    int       // chunkFor(rate)
	until    time.Time // when the schedule changes the rate next; zero: never
	stale    bool      // the schedule is new: read it at the next use
}

func newBandwidth(s bwlimit.Schedule, log *slog.Logger) *bandwidth {
	return &bandwidth{clock: realClock{}, log: log, schedule: s, lim: rate.NewLimiter(rate.Inf, 0), stale: true}
}

// limiter returns the bucket and the chunk size in force at now, or nil
// when nothing is limited then. It applies the schedule's changes as their
// times come.
func (b *bandwidth) limiter(now time.Time) (*rate.Limiter, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stale || (!b.until.IsZero() && !now.Before(b.until)) {
		b.apply(now)
	}
	if b.rate == 0 {
		return nil, 0
	}
	return b.lim, b.chunk
}

// apply sets the bucket to the schedule's rate at now. Callers hold b.mu.
func (b *bandwidth) apply(now time.Time) {
	r, until := b.schedule.At(now)
	changed := b.stale || r != b.rate
	b.rate, b.until, b.stale = r, until, false
	if r == 0 {
		b.lim.SetLimitAt(now, rate.Inf)
	} else {
		b.chunk = chunkFor(r)
		b.lim.SetBurstAt(now, b.chunk)
		b.lim.SetLimitAt(now, rate.Limit(r))
	}
	if changed && b.schedule.Limited() {
		attrs := []any{"limit", bwlimit.FormatRate(r)}
		if !until.IsZero() {
			attrs = append(attrs, "until", until.Format(time.DateTime))
		}
		b.log.Info("staging: bandwidth limit", attrs...)
	}
}

// wait blocks until n more bytes may be sent, or ctx is done (its error).
func (b *bandwidth) wait(ctx context.Context, n int) error {
	for n > 0 {
		now := b.clock.Now()
		lim, chunk := b.limiter(now)
		if lim == nil {
			return nil
		}
		k := min(n, chunk)
		r := lim.ReserveN(now, k)
		if !r.OK() {
			continue // the burst shrank since: take the new chunk size
		}
		if d := r.DelayFrom(now); d > 0 {
			if err := b.clock.SleepUntil(ctx, now.Add(d)); err != nil {
				r.CancelAt(b.clock.Now())
				return err
			}
		}
		n -= k
	}
	return nil
}

// BandwidthLimit returns the limit in force now, in bytes per second (0:
// none), and when the timetable changes it next (zero: never).
func (s *Stager) BandwidthLimit() (bytesPerSecond int64, until time.Time) {
	s.bw.mu.Lock()
	defer s.bw.mu.Unlock()
	return s.bw.schedule.At(s.bw.clock.Now())
}

// SetBandwidthLimit replaces the limit (a configuration reload); the
// stagings in flight follow it from their next chunk on.
func (s *Stager) SetBandwidthLimit(limit bwlimit.Schedule) {
	s.bw.mu.Lock()
	defer s.bw.mu.Unlock()
	s.bw.schedule, s.bw.stale = limit, true
}

// throttledClient paces the request bodies it sends through bw.
type throttledClient struct {
	inner HTTPClient
	bw    *bandwidth
}

func (c throttledClient) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &throttledBody{ReadCloser: req.Body, ctx: req.Context(), bw: c.bw}
	}
	return c.inner.Do(req)
}

// throttledBody hands its bytes to the transport no faster than bw allows.
type throttledBody struct {
	io.ReadCloser
	ctx context.Context // the request's: cancelling it ends a wait
	bw  *bandwidth
}

func (b *throttledBody) Read(p []byte) (int, error) {
	if _, chunk := b.bw.limiter(b.bw.clock.Now()); chunk > 0 && len(p) > chunk {
		p = p[:chunk]
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if werr := b.bw.wait(b.ctx, n); werr != nil {
			return 0, werr
		}
	}
	return n, err
}
