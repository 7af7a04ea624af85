package fleet

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
)

// run is the dispatcher: while requests wait, it takes a slot (from Redis,
// or from the local share in fallback) and grants it to the waiter that
// goes next. It returns when ctx ends.
func (b *Budget) run(ctx context.Context) {
	defer b.f.wg.Done()
	for {
		if !b.hasWaiters() {
			select {
			case <-ctx.Done():
				return
			case <-b.kick:
				continue
			}
		}
		wait, forHousekeeping := b.slot(ctx)
		if ctx.Err() != nil {
			return
		}
		if wait <= 0 {
			b.grant(forHousekeeping)
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-b.kick: // a new waiter, a hold, Redis back: look again
			t.Stop()
		}
	}
}

// slot takes a slot and returns 0, or returns how long to wait before
// trying again. When only housekeeping waits, the slot is taken on its
// terms (forHousekeeping): the slot before it must have gone unused.
func (b *Budget) slot(ctx context.Context) (wait time.Duration, forHousekeeping bool) {
	b.mu.Lock()
	fallback := b.fallback
	forHousekeeping = b.pick() == housekeeping
	b.mu.Unlock()
	if !fallback {
		wait, err := b.sharedSlot(ctx, forHousekeeping)
		if err == nil || ctx.Err() != nil {
			return wait, forHousekeeping
		}
		b.redisDown(b.f.redisErr("shared budget", err))
	}
	return b.localSlot(forHousekeeping), forHousekeeping
}

// sharedSlot reads the shared holds and limit, then asks the GCRA limiter.
func (b *Budget) sharedSlot(ctx context.Context, forHousekeeping bool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, b.f.opts.Timeout)
	defer cancel()
	st, err := b.f.sharedState(ctx, b.keys)
	if err != nil {
		return 0, err
	}
	now := b.f.now()
	b.mu.Lock()
	b.sharedRate = latest(b.sharedRate, now.Add(st.rateHold))
	b.sharedOutage = time.Time{}
	if st.outageHold > 0 {
		b.sharedOutage = now.Add(st.outageHold)
	}
	b.shared, b.sharedOver, b.sharedFrom = st.limit, st.window, st.limitFrom
	if st.limit == 0 && b.learned > 0 && !b.pub.limit { // Redis lost it: tell it again
		b.pub.limit = true
		poke(b.pubKick)
	}
	n, window := b.limitLocked()
	hold := b.blockedLocked().Sub(now)
	if hold > 0 {
		b.waitedShared = true
	}
	b.mu.Unlock()
	if hold > 0 {
		return min(hold, maxNap), nil
	}
	limit := redis_rate.Limit{Rate: n, Burst: 1, Period: time.Duration(float64(window) * (1 + margin))}
	var res *redis_rate.Result
	if forHousekeeping {
		res, err = b.idleSlot(ctx, limit)
	} else {
		res, err = b.f.limiter.Allow(ctx, b.keys.budget, limit)
	}
	if err != nil {
		return 0, err
	}
	if res.Allowed == 0 {
		b.mu.Lock()
		b.waitedShared = true
		b.mu.Unlock()
		return max(res.RetryAfter, time.Millisecond), nil
	}
	return 0, nil
}

// idleSlot takes a slot of the GCRA limiter for housekeeping: only if no
// node took one for a whole emission interval (the slot before it went
// unused), else it says how long to wait. It reads and writes redis_rate's
// key in redis_rate's own format (idleSlotScript).
func (b *Budget) idleSlot(ctx context.Context, limit redis_rate.Limit) (*redis_rate.Result, error) {
	res, err := idleSlotScript.Run(ctx, b.f.rdb, []string{b.keys.rateKey}, limit.Rate, limit.Period.Seconds()).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) < 2 {
		return nil, errShortReply
	}
	wait, _ := res[1].(string)
	secs, err := strconv.ParseFloat(wait, 64)
	if err != nil {
		return nil, errShortReply
	}
	return &redis_rate.Result{Limit: limit, Allowed: int(toInt64(res[0])), RetryAfter: time.Duration(secs * float64(time.Second))}, nil
}

// localSlot spaces this node's requests by its share of the budget, behind
// the holds it knows of; housekeeping also leaves the slot before it unused.
func (b *Budget) localSlot(forHousekeeping bool) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.f.now()
	at := latest(b.fallbackNext, b.blockedLocked())
	if forHousekeeping { // the slot before it went unused
		at = latest(at, b.fallbackNext.Add(b.localSpacingLocked()))
	}
	if now.Before(at) {
		return at.Sub(now)
	}
	b.fallbackNext = latest(now, b.fallbackNext).Add(b.localSpacingLocked())
	return 0
}

// redisDown switches to the local share; the heartbeat or the dispatcher
// calls it when Redis does not answer.
func (b *Budget) redisDown(err error) {
	b.mu.Lock()
	if b.fallback || b.closed {
		b.mu.Unlock()
		return
	}
	b.fallback = true
	spacing := b.localSpacingLocked()
	b.fallbackNext = latest(b.fallbackNext, b.lastGrant.Add(spacing))
	b.mu.Unlock()
	if b.counts() {
		b.f.metrics.Fallbacks.Add(1)
	}
	b.log.Warn("Redis unreachable: this node falls back to its share of the budget until it answers again",
		"nodes", b.f.nodesAlive(), "spacing", spacing.Round(time.Millisecond), "err", err)
	poke(b.kick)
}

// redisUp returns to the shared budget after a heartbeat reached Redis.
func (b *Budget) redisUp() {
	b.mu.Lock()
	back := b.fallback
	b.fallback = false
	b.mu.Unlock()
	if back {
		b.log.Info("Redis answers again: back on the fleet's shared budget")
		poke(b.kick)
	}
	poke(b.pubKick)
}

// sharedView is what Redis holds of the budget besides the GCRA state.
type sharedView struct {
	rateHold, outageHold time.Duration
	limit                int
	window               time.Duration
	limitFrom            string
}

// sharedState reads the holds and the limit of the budget with keys k.
func (f *Fleet) sharedState(ctx context.Context, k budgetKeys) (sharedView, error) {
	keys := []string{k.holdRate, k.holdOutage, k.limit}
	res, err := sharedStateScript.Run(ctx, f.rdb, keys).Slice()
	if err != nil {
		return sharedView{}, err
	}
	if len(res) < 5 {
		return sharedView{}, errShortReply
	}
	from, _ := res[4].(string)
	return sharedView{rateHold: ms(toInt64(res[0])), outageHold: ms(toInt64(res[1])),
		limit: int(toInt64(res[2])), window: ms(toInt64(res[3])), limitFrom: from}, nil
}

// publishLoop tells Redis what Observe learned, whenever there is news or
// Redis answers again, until ctx ends.
func (b *Budget) publishLoop(ctx context.Context) {
	defer b.f.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.pubKick:
		}
		b.publish(ctx)
	}
}

// publish sends the pending news; what fails stays pending for the next try.
func (b *Budget) publish(ctx context.Context) {
	b.mu.Lock()
	p := b.pub
	b.pub = pending{}
	learned, over := b.learned, b.learnedOver
	b.mu.Unlock()
	if p.empty() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, b.f.opts.Timeout)
	defer cancel()
	f := b.f
	var failed pending
	var lastErr error
	if p.limit {
		err := f.rdb.HSet(ctx, b.keys.limit, "limit", learned, "interval_ms", over.Milliseconds(), "node", f.opts.Node).Err()
		if err != nil {
			failed.limit, lastErr = true, err
		}
	}
	if !p.rateUntil.IsZero() {
		if d := p.rateUntil.Sub(f.now()); d > 0 {
			msLeft := (d + time.Millisecond - 1).Milliseconds()
			if err := holdScript.Run(ctx, f.rdb, []string{b.keys.holdRate}, msLeft, f.opts.Node).Err(); err != nil {
				failed.rateUntil, lastErr = p.rateUntil, err
			}
		}
	}
	if p.clear {
		if err := f.rdb.Del(ctx, b.keys.holdOutage, b.keys.outageStreak).Err(); err != nil {
			failed.clear, failed.outages, lastErr = true, p.outages, err
			p.outages = 0
		}
	}
	for i := 0; i < p.outages; i++ {
		res, err := outageScript.Run(ctx, f.rdb, []string{b.keys.holdOutage, b.keys.outageStreak},
			b.minOutage.Milliseconds(), b.maxOutage.Milliseconds(), rand.Float64(), f.opts.Node).Int64Slice()
		if err != nil || len(res) < 2 {
			failed.outages, failed.ownOutage, lastErr = p.outages-i, p.ownOutage, err
			break
		}
		b.mu.Lock()
		b.sharedOutage = latest(b.sharedOutage, f.now().Add(ms(res[1])))
		if b.ownOutage.Equal(p.ownOutage) { // the shared hold rules now
			b.ownOutage = time.Time{}
		}
		b.mu.Unlock()
	}
	if failed.empty() {
		return
	}
	f.log.Debug("could not tell Redis what this node learned; will retry", "err", redactErr(lastErr, f.opts.Password))
	b.mu.Lock()
	b.pub = failed.then(b.pub)
	b.mu.Unlock()
}

// then returns the news of p followed by the newer news of q.
func (p pending) then(q pending) pending {
	r := q
	r.limit = p.limit || q.limit
	r.rateUntil = latest(p.rateUntil, q.rateUntil)
	if !q.clear { // q's failures add to p's; a clear in q makes p's moot
		r.clear, r.outages = p.clear, p.outages+q.outages
		if q.outages == 0 {
			r.ownOutage = p.ownOutage
		}
	}
	return r
}
