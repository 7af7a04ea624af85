package fleet

import (
	"context"
	"fmt"
	"time"
)

// joinRetry bounds the time between two tries to reach Redis while this
// node has not joined the fleet (Open found Redis down).
const joinRetry = 2 * time.Second

// beat registers this node for one heartbeat TTL and learns how many nodes
// are alive; the first that succeeds joins the fleet. It returns the
// instance that beat for this node's name before ("" if none).
func (f *Fleet) beat(ctx context.Context) (prev string, err error) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	keys := []string{f.keys.nodes(), f.keys.node(f.opts.Node), f.keys.epoch()}
	res, err := heartbeatScript.Run(ctx, f.rdb, keys, f.opts.Node, f.instance, f.opts.HeartbeatTTL.Milliseconds(), randomID()).Slice()
	if err != nil {
		return "", err
	}
	if len(res) < 3 {
		return "", fmt.Errorf("heartbeat: unexpected reply %v", res)
	}
	alive := int(toInt64(res[0]))
	prev, _ = res[1].(string)
	epoch, _ := res[2].(string)

	f.mu.Lock()
	changed := alive != f.alive
	f.alive = alive
	lost := f.epoch != "" && f.epoch != epoch
	f.epoch = epoch
	wasDown := f.beatErr != nil && f.joined
	f.beatErr = nil
	f.joined = true
	budgets := f.budgets
	f.mu.Unlock()

	if lost {
		f.metrics.DataLosses.Add(1)
		f.log.Warn("Redis lost the fleet's data (restarted without its append-only file?): the shared budget, leases and ledger start afresh")
	}
	if wasDown {
		f.log.Info("Redis reachable again", "redis", f.shownURL, "nodes_alive", alive)
	}
	for _, b := range budgets {
		b.redisUp()
	}
	if changed && f.opts.NodesSeen != nil {
		f.opts.NodesSeen(alive)
	}
	return prev, nil
}

// heartbeatLoop beats every third of the heartbeat TTL until ctx ends, and
// tells the budgets whether Redis answers. Until this node has joined the
// fleet it tries to join instead, every joinRetry at most.
func (f *Fleet) heartbeatLoop(ctx context.Context) {
	defer f.wg.Done()
	interval := f.opts.HeartbeatTTL / 3
	t := time.NewTimer(f.beatInterval(interval))
	defer t.Stop()
	warnedTwin := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var err error
		if f.hasJoined() {
			var prev string
			if prev, err = f.beat(ctx); err != nil {
				err = f.redisErr("heartbeat", err)
			} else if prev != "" && prev != f.instance && !warnedTwin {
				warnedTwin = true
				f.log.Warn("another tilesyncd beats with this node name: give each node its own fleet.node")
			}
		} else {
			err = f.join(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			f.unreachable(err)
		}
		t.Reset(f.beatInterval(interval))
	}
}

// beatInterval is the time to the next heartbeat: interval once joined,
// at most joinRetry before.
func (f *Fleet) beatInterval(interval time.Duration) time.Duration {
	if f.hasJoined() {
		return interval
	}
	return min(interval, joinRetry)
}

// unreachable records a heartbeat that did not reach Redis and puts the
// budgets in fallback.
func (f *Fleet) unreachable(err error) {
	f.metrics.RedisErrors.Add(1)
	f.mu.Lock()
	first := f.beatErr == nil
	f.beatErr = err
	budgets := f.budgets
	f.mu.Unlock()
	if first {
		f.log.Warn("Redis unreachable: the budget falls back to this node's share; shared folders wait", "err", err)
	}
	for _, b := range budgets {
		b.redisDown(err)
	}
}

func (f *Fleet) hasJoined() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.joined
}

// nodesAlive is how many nodes were alive at the last heartbeat, at least 1
// (before the first: Options.KnownNodes).
func (f *Fleet) nodesAlive() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return max(f.alive, 1)
}

// Reachable reports whether the last heartbeat reached Redis, and its error
// if not; false also while this node has not reached Redis since Open.
// Shared folders must wait while it is false (fail closed).
func (f *Fleet) Reachable() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.beatErr == nil, f.beatErr
}
