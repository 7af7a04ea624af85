package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Budget is the one gate every Mapbox API request of the process passes. It
// spaces requests evenly at the account's rate (learned from the
// X-Rate-Limit-* headers, else the configured requests per minute), so that
// tilesyncd alone on an account never meets a 429; after a 429 it lets nothing
// through before the reset time; after a transient failure (the API or the
// network down) it holds every request behind one shared, growing backoff, so
// that the first request after it is the only probe.
//
// Requests that move files forward (credentials, create) go before polling
// (list, status, delete) when both wait, but a poll is never passed over more
// than fairness times in a row, so polling is not starved either.
// Housekeeping requests (a context marked by Housekeeping: the cleanup of
// Mapbox's upload list) come last: one goes only when nothing else waits
// and the slot before it went unused, so they never take more than every
// other slot, one at a time (housekeeping.go).
//
// A Budget needs no goroutine of its own: waiters are woken by a timer. Its
// zero value is not usable; call NewBudget.
type Budget struct {
	log *slog.Logger

	mu          sync.Mutex
	spacing     time.Duration // between two requests
	perMinute   int           // the configured rate
	learned     int           // requests per window the server announced, 0 if none
	learnedOver time.Duration // that window
	next        time.Time     // the earliest time of the next request
	rateBlock   time.Time     // no request before this (429)
	outageBlock time.Time     // no request before this (transient failures)
	outageDelay time.Duration // the current shared backoff
	minOutage   time.Duration
	maxOutage   time.Duration
	waiting     [3][]*waiter // by priority
	passedOver  int          // polls passed over in a row
	timer       *time.Timer
	timerAt     time.Time
	stats       Stats
}

// Priorities of API requests.
const (
	forward = 0 // credentials, create: moves a file forward
	polling = 1 // list, status, delete
	// housekeeping: a context marked by Housekeeping; only when nothing else waits
	housekeeping = 2
)

const (
	// margin widens the spacing a little so that the jitter of requests on
	// their way and window edges never add up to one request too many: at
	// 30 a minute, requests 2.03 s apart can arrive up to 0.9 s unevenly
	// before a 60 s window holds a 31st. 1.5 % leaves 98.5 % of the limit
	// to use (issue 18: a backlog drains at 97 % of the ceiling).
	margin = 0.015
	// fairness is how many forward requests may pass a waiting poll in a row.
	fairness = 3
	// Shared backoff after transient failures: doubling from MinOutage, capped.
	defaultMinOutage = time.Second
	defaultMaxOutage = 2 * time.Minute
)

// Options tune a Budget; the zero value is right for production.
type Options struct {
	Logger *slog.Logger
	// MinOutage and MaxOutage bound the shared backoff after transient
	// failures (defaults 1 s and 2 min): it starts at MinOutage and doubles
	// with each failure in a row.
	MinOutage, MaxOutage time.Duration
}

type waiter struct {
	granted chan struct{}
	done    bool // granted (under mu)
}

// Stats are counters for status and metrics.
type Stats struct {
	Granted       int64
	RateLimited   int64         // 429 answers seen
	Waited        time.Duration // total time requests spent waiting at the gate (not housekeeping's)
	Spacing       time.Duration // current spacing between requests
	Limit         int           // requests per Window in force
	Window        time.Duration
	BlockedUntil  time.Time // a 429 or an outage holds every request until then
	Waiting       int       // requests waiting now
	OutageBackoff time.Duration
	// Shared is set by a fleet-wide budget (fleet.Budget): one budget on
	// Redis for every node on the account; Nodes is how many were alive
	// when last seen. Fallback: Redis cannot be reached, and this node
	// spends 1/Nodes of the budget on its own meanwhile (Spacing says so).
	// A local Budget leaves them zero.
	Shared   bool
	Fallback bool
	Nodes    int
}

// NewBudget spaces requests for perMinute requests a minute until the
// server announces its own limit.
func NewBudget(perMinute int, opts Options) *Budget {
	if perMinute < 1 {
		perMinute = 1
	}
	b := &Budget{log: opts.Logger, spacing: spacingFor(perMinute, time.Minute), perMinute: perMinute,
		minOutage: opts.MinOutage, maxOutage: opts.MaxOutage}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.minOutage <= 0 {
		b.minOutage = defaultMinOutage
	}
	if b.maxOutage <= 0 {
		b.maxOutage = defaultMaxOutage
	}
	return b
}

func spacingFor(n int, window time.Duration) time.Duration {
	return time.Duration(float64(window) / float64(n) * (1 + margin))
}

func priorityOf(ctx context.Context, ep mapbox.Endpoint) int {
	if IsHousekeeping(ctx) {
		return housekeeping
	}
	if Forward(ep) {
		return forward
	}
	return polling
}

// Wait blocks until a request to ep may be sent, or ctx ends (then it
// returns ctx's error and the slot is not used). It is the mapbox.Client's Gate.
func (b *Budget) Wait(ctx context.Context, ep mapbox.Endpoint) error {
	start := time.Now()
	w := &waiter{granted: make(chan struct{})}
	p := priorityOf(ctx, ep)
	b.mu.Lock()
	b.waiting[p] = append(b.waiting[p], w)
	b.dispatch()
	b.mu.Unlock()
	select {
	case <-w.granted:
		if p != housekeeping { // it waits by design: not a sign of pressure
			b.mu.Lock()
			b.stats.Waited += time.Since(start)
			b.mu.Unlock()
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		if w.done { // granted just as ctx ended: give the slot back
			b.next = b.next.Add(-b.spacing)
			b.stats.Granted--
		} else {
			b.remove(p, w)
		}
		b.dispatch()
		return ctx.Err()
	}
}

func (b *Budget) remove(p int, w *waiter) {
	for i, x := range b.waiting[p] {
		if x == w {
			b.waiting[p] = append(b.waiting[p][:i], b.waiting[p][i+1:]...)
			return
		}
	}
}

// dispatch grants every waiter whose time has come and arms the timer for the
// next one. b.mu is held.
func (b *Budget) dispatch() {
	for {
		p := b.pick()
		if p < 0 {
			return
		}
		now := time.Now()
		at := latest(b.next, b.rateBlock, b.outageBlock)
		if p == housekeeping {
			at = latest(at, b.next.Add(b.spacing)) // the slot before it went unused
		}
		if now.Before(at) {
			b.arm(at)
			return
		}
		w := b.waiting[p][0]
		b.waiting[p] = b.waiting[p][1:]
		w.done = true
		close(w.granted)
		b.stats.Granted++
		b.next = latest(now, b.next).Add(b.spacing)
		if p == forward && len(b.waiting[polling]) > 0 {
			b.passedOver++
		} else if p == polling {
			b.passedOver = 0
		}
	}
}

// pick returns the priority whose first waiter goes next, or -1.
func (b *Budget) pick() int {
	switch {
	case len(b.waiting[forward]) == 0 && len(b.waiting[polling]) == 0 && len(b.waiting[housekeeping]) == 0:
		return -1
	case len(b.waiting[forward]) == 0 && len(b.waiting[polling]) == 0:
		return housekeeping
	case len(b.waiting[forward]) == 0:
		return polling
	case len(b.waiting[polling]) > 0 && b.passedOver >= fairness:
		return polling
	}
	return forward
}

func (b *Budget) arm(at time.Time) {
	if b.timer != nil && b.timerAt.Equal(at) {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timerAt = at
	b.timer = time.AfterFunc(time.Until(at), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.timer = nil
		b.dispatch()
	})
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// Observe learns from one API exchange: the account's real limit from the
// rate-limit headers, a 429's reset time, and whether the API is reachable.
// It is the mapbox.Client's Observe.
func (b *Budget) Observe(ex mapbox.Exchange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	rl := ex.RateLimit
	if rl.Limit > 0 && rl.Interval > 0 && (rl.Limit != b.learned || rl.Interval != b.learnedOver) {
		b.learned, b.learnedOver = rl.Limit, rl.Interval
		b.spacing = spacingFor(rl.Limit, rl.Interval)
		b.log.Info("API rate limit learned from the server", "limit", rl.Limit, "interval", rl.Interval, "spacing", b.spacing)
	}
	switch {
	case errors.Is(ex.Err, mapbox.ErrRateLimited):
		b.stats.RateLimited++
		until, ok := mapbox.RetryAt(ex.Err)
		if !ok {
			window := b.learnedOver
			if window == 0 {
				window = time.Minute
			}
			until = now.Add(window)
		}
		if until.After(b.rateBlock) {
			b.rateBlock = until
			b.log.Warn("rate limited by Mapbox: holding every request until the reset", "until", until.Format(time.RFC3339), "endpoint", ex.Endpoint)
		}
	case errors.Is(ex.Err, mapbox.ErrTransient):
		if b.outageDelay == 0 {
			b.outageDelay = b.minOutage
		} else {
			b.outageDelay = min(2*b.outageDelay, b.maxOutage)
		}
		// Full jitter on the upper half: many daemons behind one outage do not return in step.
		d := b.outageDelay/2 + rand.N(b.outageDelay/2+1)
		b.outageBlock = now.Add(d)
		b.log.Warn("Mapbox API unreachable or failing: every request waits", "retry_in", d.Round(time.Millisecond), "endpoint", ex.Endpoint, "status", ex.Status)
	case ex.Status != 0:
		if b.outageDelay != 0 {
			b.log.Info("Mapbox API answering again")
		}
		b.outageDelay = 0
		b.outageBlock = time.Time{}
	}
	b.dispatch()
}

// Stats returns the budget's counters.
func (b *Budget) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Spacing = b.spacing
	s.Limit, s.Window = b.learned, b.learnedOver
	if s.Limit == 0 {
		s.Limit, s.Window = b.perMinute, time.Minute
	}
	s.BlockedUntil = latest(b.rateBlock, b.outageBlock)
	s.Waiting = len(b.waiting[forward]) + len(b.waiting[polling]) + len(b.waiting[housekeeping])
	s.OutageBackoff = b.outageDelay
	return s
}

// ForwardWaiting is how many requests that move files forward wait now.
func (b *Budget) ForwardWaiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting[forward])
}
