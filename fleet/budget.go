package fleet

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
)

// Budget is the fleet's rate budget as one node sees it: every request of
// every node of the group takes a slot from one GCRA limiter on Redis
// (redis_rate, whose script reads the server's clock), so that the fleet
// together stays under the account's limit. It keeps the local Budget's
// behaviour (ratelimit.Budget):
//
//   - The limit learned from the X-Rate-Limit-* headers is published in
//     Redis; every node spaces requests by it (else by its configured rate).
//   - A 429 holds every node until its reset; transient failures hold every
//     node behind one shared, doubling backoff (jittered) that the first
//     success anywhere clears. Holds are Redis keys whose TTL is the hold:
//     no node's clock is involved.
//   - Forward requests (credentials, create) go before polls on this node,
//     but a poll is never passed over more than fairness times in a row.
//   - Housekeeping requests (a context marked by ratelimit.Housekeeping)
//     come last: one goes only when no other request waits on this node
//     and the fleet's slot before it went unused (no node took a slot for
//     one spacing), one at a time in the order they came; so they never
//     take a slot a file or a poll of any node wanted, nor more than every
//     other slot.
//
// When Redis cannot be reached, the node falls back to a local limit of
// 1/N of the budget, N being the nodes alive when last seen, with the holds
// it knows of, until a heartbeat reaches Redis again; it never stops for
// want of Redis. Stats says which (Shared, Fallback, Nodes), and the log.
//
// A Budget has two goroutines of its own (a dispatcher that takes slots
// from Redis and hands them to waiters by priority, and a publisher that
// tells Redis what this node learned), started by Fleet.Budget and stopped
// by Fleet.Close.
type Budget struct {
	f         *Fleet
	log       *slog.Logger
	name      string     // "" for the account's budget, "publish" for the publishes'
	keys      budgetKeys // its keys in Redis
	perMinute int
	minOutage time.Duration
	maxOutage time.Duration

	kick    chan struct{} // wakes the dispatcher
	pubKick chan struct{} // wakes the publisher
	done    chan struct{} // closed by close
	cancel  context.CancelFunc

	mu         sync.Mutex
	closed     bool
	waiting    [3][]*waiter // by priority
	passedOver int          // polls passed over in a row

	learned     int           // requests per learnedOver, from this node's answers; 0 if none
	learnedOver time.Duration //
	shared      int           // the limit published in Redis, as last read; 0 if none
	sharedOver  time.Duration
	sharedFrom  string

	// Holds, as times of this node's clock: own ones come from this node's
	// answers, shared ones from Redis' TTLs when last read.
	ownRate, sharedRate     time.Time
	ownOutage, sharedOutage time.Time
	outageDelay             time.Duration // the local backoff (for fallback)

	fallback     bool
	fallbackNext time.Time // the earliest next request in fallback
	lastGrant    time.Time
	waitedShared bool // the next grant waited for the shared budget

	pub   pending // what the publisher must tell Redis
	stats ratelimit.Stats

	onGrant func(mapbox.Endpoint) // a test's hook, called under mu in grant order
}

var _ ratelimit.Limiter = (*Budget)(nil)

// Priorities of API requests, as in ratelimit.Budget.
const (
	forward = 0
	polling = 1
	// housekeeping: a context marked by ratelimit.Housekeeping; only when
	// nothing else waits and the slot before went unused
	housekeeping = 2
)

const (
	// margin widens the spacing a little so that clock drift and window
	// edges never add up to one request too many.
	margin = 0.03
	// fairness is how many forward requests may pass a waiting poll in a row.
	fairness = 3
	// maxNap bounds a wait on a shared hold before Redis is asked again: a
	// success elsewhere may have cleared it.
	maxNap = time.Second
	// Shared backoff after transient failures, when ratelimit.Options does not say.
	defaultMinOutage = time.Second
	defaultMaxOutage = 2 * time.Minute
)

type waiter struct {
	granted chan struct{}
	ep      mapbox.Endpoint
	done    bool // granted (under mu)
}

// pending is what this node learned and Redis has not been told yet. It is
// applied in order: clear (the API answers), then outages (failures since).
type pending struct {
	limit     bool      // publish the learned limit
	rateUntil time.Time // publish a 429 hold until then
	clear     bool      // clear the shared outage hold
	outages   int       // transient failures to count
	ownOutage time.Time // the own outage hold when taken, to drop it once published
}

func (p pending) empty() bool { return !p.limit && p.rateUntil.IsZero() && !p.clear && p.outages == 0 }

// Budget starts this node's view of the fleet's shared budget. perMinute is
// the configured rate, used until the account's limit is learned from
// Mapbox's headers (by any node); opts.MinOutage and MaxOutage bound the
// shared backoff. Call it once per process.
//
// Made while the Fleet has not reached Redis (Open with Redis down), the
// budget starts in fallback, on this node's share: 1/N of perMinute, N being
// Options.KnownNodes (at least 1); it goes on to the shared budget at the
// first heartbeat that reaches Redis.
func (f *Fleet) Budget(perMinute int, opts ratelimit.Options) *Budget {
	return f.newBudget("", perMinute, opts)
}

// PublishBudget starts this node's view of the fleet's shared budget of MTS
// publishes (Mapbox allows 2 a minute per account, apart from the other
// requests): a Budget like Fleet.Budget's, on keys of its own in Redis
// (tilesyncd:{G}:publish:…: its own GCRA limiter, learned limit and holds),
// so that the two never take each other's slots nor hold each other.
// perMinute is the configured publishes a minute, used until a publish's
// answer tells the limit. It must see only publish requests and answers:
// pass it as the publish Limiter of ratelimit.WithPublishBudget, with
// Fleet.Budget as the account's. In fallback it spends 1/N of it, as
// Budget does. Its waits and fallbacks are not counted in Metrics (which
// count the account's budget). Call it once per process.
func (f *Fleet) PublishBudget(perMinute int, opts ratelimit.Options) *Budget {
	return f.newBudget("publish", perMinute, opts)
}

// newBudget starts the shared budget called name (its keys' infix).
func (f *Fleet) newBudget(name string, perMinute int, opts ratelimit.Options) *Budget {
	b := &Budget{f: f, log: opts.Logger, name: name, keys: f.keys.budget(name), perMinute: max(perMinute, 1),
		minOutage: opts.MinOutage, maxOutage: opts.MaxOutage,
		kick: make(chan struct{}, 1), pubKick: make(chan struct{}, 1), done: make(chan struct{})}
	if b.log == nil {
		b.log = f.log
	}
	b.log = b.log.With("component", "fleet-budget", "node", f.opts.Node)
	if name != "" {
		b.log = b.log.With("budget", name)
	}
	if b.minOutage <= 0 {
		b.minOutage = defaultMinOutage
	}
	if b.maxOutage <= 0 {
		b.maxOutage = defaultMaxOutage
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		cancel()
		b.closed = true
		close(b.done)
		return b
	}
	b.fallback = f.beatErr != nil
	if b.fallback && b.counts() {
		f.metrics.Fallbacks.Add(1)
	}
	f.budgets = append(f.budgets, b)
	f.wg.Add(2)
	go b.run(ctx)
	go b.publishLoop(ctx)
	return b
}

// counts reports whether the budget's waits and fallbacks count in
// Metrics: the account's budget only.
func (b *Budget) counts() bool { return b.name == "" }

// close stops the budget; waiters get ErrClosed. Fleet.Close calls it.
func (b *Budget) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	b.cancel()
	close(b.done)
}

func priorityOf(ctx context.Context, ep mapbox.Endpoint) int {
	if ratelimit.IsHousekeeping(ctx) {
		return housekeeping
	}
	if ratelimit.Forward(ep) {
		return forward
	}
	return polling
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Wait blocks until a request to ep may be sent, or ctx ends (then it
// returns ctx's error), or the Fleet is closed (ErrClosed). It is the
// mapbox.Client's Gate. A ctx marked by ratelimit.Housekeeping waits
// behind every other request (see Budget).
func (b *Budget) Wait(ctx context.Context, ep mapbox.Endpoint) error {
	start := b.f.now()
	w := &waiter{granted: make(chan struct{}), ep: ep}
	p := priorityOf(ctx, ep)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.waiting[p] = append(b.waiting[p], w)
	b.mu.Unlock()
	poke(b.kick)
	select {
	case <-w.granted:
		if p != housekeeping { // it waits by design: not a sign of pressure
			b.mu.Lock()
			b.stats.Waited += b.f.now().Sub(start)
			b.mu.Unlock()
		}
		return nil
	case <-ctx.Done():
		b.leave(p, w)
		return ctx.Err()
	case <-b.done:
		b.leave(p, w)
		return ErrClosed
	}
}

// leave takes a waiter out of the queue; one granted meanwhile gives its
// slot back where it can (fallback), else the slot is lost.
func (b *Budget) leave(p int, w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !w.done {
		for i, x := range b.waiting[p] {
			if x == w {
				b.waiting[p] = append(b.waiting[p][:i], b.waiting[p][i+1:]...)
				break
			}
		}
		return
	}
	b.stats.Granted--
	if b.fallback {
		b.fallbackNext = b.fallbackNext.Add(-b.localSpacingLocked())
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

// grant hands a slot just taken to the waiter that goes next. A slot taken
// for a request of higher priority (forHousekeeping false) is never given
// to housekeeping, which needs the slot before it unused.
func (b *Budget) grant(forHousekeeping bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pick()
	if p == housekeeping && !forHousekeeping {
		p = -1
	}
	if p < 0 { // every waiter left meanwhile
		if b.fallback {
			b.fallbackNext = b.fallbackNext.Add(-b.localSpacingLocked())
		}
		return
	}
	w := b.waiting[p][0]
	b.waiting[p] = b.waiting[p][1:]
	w.done = true
	b.stats.Granted++
	b.lastGrant = b.f.now()
	if p == forward && len(b.waiting[polling]) > 0 {
		b.passedOver++
	} else if p == polling {
		b.passedOver = 0
	}
	if b.waitedShared {
		b.waitedShared = false
		if p != housekeeping && b.counts() {
			b.f.metrics.BudgetWaits.Add(1)
		}
	}
	if b.onGrant != nil {
		b.onGrant(w.ep)
	}
	close(w.granted) // last: the waiter sees the counts with its grant
}

// waitingLocked is how many requests wait, of every priority.
func (b *Budget) waitingLocked() int {
	return len(b.waiting[forward]) + len(b.waiting[polling]) + len(b.waiting[housekeeping])
}

func (b *Budget) hasWaiters() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waitingLocked() > 0
}

// Observe learns from one API exchange: the account's limit from the
// rate-limit headers (published to the fleet), a 429's reset and transient
// failures (shared holds), a success (clears the outage hold). It never
// blocks on Redis: the publisher tells Redis. It is the mapbox.Client's Observe.
func (b *Budget) Observe(ex mapbox.Exchange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.f.now()
	rl := ex.RateLimit
	if rl.Limit > 0 && rl.Interval > 0 && (rl.Limit != b.learned || rl.Interval != b.learnedOver) {
		b.learned, b.learnedOver = rl.Limit, rl.Interval
		b.pub.limit = true
		b.log.Info("API rate limit learned from the server: shared with the fleet", "limit", rl.Limit, "interval", rl.Interval)
	}
	switch {
	case errors.Is(ex.Err, mapbox.ErrRateLimited):
		b.stats.RateLimited++
		until, ok := mapbox.RetryAt(ex.Err) // a time of this node's clock
		if !ok {
			_, window := b.limitLocked()
			until = now.Add(window)
		}
		if until.After(b.ownRate) {
			b.ownRate = until
			b.pub.rateUntil = until
			b.log.Warn("rate limited by Mapbox: holding every node of the fleet until the reset", "retry_in", until.Sub(now).Round(time.Millisecond), "endpoint", ex.Endpoint)
		}
	case errors.Is(ex.Err, mapbox.ErrTransient):
		if b.outageDelay == 0 {
			b.outageDelay = b.minOutage
		} else {
			b.outageDelay = min(2*b.outageDelay, b.maxOutage)
		}
		d := b.outageDelay/2 + rand.N(b.outageDelay/2+1)
		b.ownOutage = now.Add(d)
		b.pub.outages++
		b.pub.ownOutage = b.ownOutage
		b.log.Warn("Mapbox API unreachable or failing: every node of the fleet waits", "retry_in", d.Round(time.Millisecond), "endpoint", ex.Endpoint, "status", ex.Status)
	case ex.Status != 0:
		if b.outageDelay != 0 || !b.ownOutage.IsZero() || b.sharedOutage.After(now) {
			b.log.Info("Mapbox API answering again")
			b.pub.clear, b.pub.outages = true, 0
		}
		b.outageDelay = 0
		b.ownOutage, b.sharedOutage = time.Time{}, time.Time{}
	}
	if !b.pub.empty() {
		poke(b.pubKick)
	}
	poke(b.kick)
}

// Stats describes the budget: the limit in force (shared, else learned here,
// else configured), the spacing (N times wider in fallback), the holds.
func (b *Budget) Stats() ratelimit.Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Limit, s.Window = b.limitLocked()
	s.Spacing = spacingFor(s.Limit, s.Window)
	if b.fallback {
		s.Spacing = b.localSpacingLocked()
	}
	s.BlockedUntil = b.blockedLocked()
	s.Waiting = b.waitingLocked()
	s.OutageBackoff = b.outageDelay
	s.Shared, s.Fallback, s.Nodes = true, b.fallback, b.f.nodesAlive()
	return s
}

// ForwardWaiting is how many requests that move files forward wait now on
// this node.
func (b *Budget) ForwardWaiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting[forward])
}

// limitLocked is the limit in force: published in Redis, else learned by
// this node, else its configured rate a minute.
func (b *Budget) limitLocked() (int, time.Duration) {
	switch {
	case b.shared > 0:
		return b.shared, b.sharedOver
	case b.learned > 0:
		return b.learned, b.learnedOver
	}
	return b.perMinute, time.Minute
}

// localSpacingLocked is the spacing of this node's share in fallback: 1/N
// of the budget.
func (b *Budget) localSpacingLocked() time.Duration {
	n, w := b.limitLocked()
	return spacingFor(n, w) * time.Duration(b.f.nodesAlive())
}

func (b *Budget) blockedLocked() time.Time {
	return latest(b.ownRate, b.sharedRate, b.ownOutage, b.sharedOutage)
}

func spacingFor(n int, window time.Duration) time.Duration {
	return time.Duration(float64(window) / float64(n) * (1 + margin))
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
