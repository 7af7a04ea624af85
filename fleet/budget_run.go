package fleet

import (
	"context"
	"math/rand/v2"
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
		wait := b.slot(ctx)
		if ctx.Err() != nil {
			return
		}
		if wait <= 0 {
			b.grant()
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
// trying again.
func (b *Budget) slot(ctx context.Context) time.Duration {
	b.mu.Lock()
	fallback := b.fallback
	b.mu.Unlock()
	if !fallback {
		wait, err := b.sharedSlot(ctx)
		if err == nil || ctx.Err() != nil {
			return wait
		}
		b.redisDown(b.f.redisErr("shared budget", err))
	}
	return b.localSlot()
}

// sharedSlot reads the shared holds and limit, then asks the GCRA limiter.
func (b *Budget) sharedSlot(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, b.f.opts.Timeout)
	defer cancel()
	st, err := b.f.sharedState(ctx)
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
	res, err := b.f.limiter.Allow(ctx, b.f.keys.budget(), limit)
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

// localSlot spaces this node's requests by its share of the budget, behind
// the holds it knows of.
func (b *Budget) localSlot() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.f.now()
	if at := latest(b.fallbackNext, b.blockedLocked()); now.Before(at) {
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
	b.f.metrics.Fallbacks.Add(1)
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

func (f *Fleet) sharedState(ctx context.Context) (sharedView, error) {
	keys := []string{f.keys.holdRate(), f.keys.holdOutage(), f.keys.limit()}
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
		err := f.rdb.HSet(ctx, f.keys.limit(), "limit", learned, "interval_ms", over.Milliseconds(), "node", f.opts.Node).Err()
		if err != nil {
			failed.limit, lastErr = true, err
		}
	}
	if !p.rateUntil.IsZero() {
		if d := p.rateUntil.Sub(f.now()); d > 0 {
			msLeft := (d + time.Millisecond - 1).Milliseconds()
			if err := holdScript.Run(ctx, f.rdb, []string{f.keys.holdRate()}, msLeft, f.opts.Node).Err(); err != nil {
				failed.rateUntil, lastErr = p.rateUntil, err
			}
		}
	}
	if p.clear {
		if err := f.rdb.Del(ctx, f.keys.holdOutage(), f.keys.outageStreak()).Err(); err != nil {
			failed.clear, failed.outages, lastErr = true, p.outages, err
			p.outages = 0
		}
	}
	for i := 0; i < p.outages; i++ {
		res, err := outageScript.Run(ctx, f.rdb, []string{f.keys.holdOutage(), f.keys.outageStreak()},
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
