package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bsm/redislock"
)

// Lease is this node's exclusive right to work on one tileset of a shared
// folder, for a time to live renewed in the background while held. Its
// fencing token grows with every acquisition of the tileset: ledger writes
// carry it, and Redis refuses those of a holder whose token is older than
// the current one. A Lease is safe for concurrent use.
//
// Fail closed: when a renewal finds the lock gone, or cannot reach Redis
// before the lease's time to live has passed (counted from the start of the
// last renewal that succeeded, on this node's monotonic clock), the lease
// is lost for good: Lost is closed, Check and every ledger write return
// ErrLeaseLost. Work under it must stop; acquire it again to go on.
type Lease struct {
	f        *Fleet
	tileset  string
	lock     *redislock.Lock
	value    string // the lock's value: redislock's token and this node's name
	token    int64
	prevNode string
	tookOver bool

	mu         sync.Mutex
	validUntil time.Time // this node's clock: no later than Redis' expiry
	lostErr    error     // non-nil once lost
	released   bool
	lost       chan struct{}

	stop chan struct{} // ends the renewal
	done chan struct{} // closed when the renewal has returned
}

// TryAcquire takes the tileset's lease if no node holds it, else returns
// ErrLeaseHeld (naming the holder when known). A lease whose previous
// holder let it expire without releasing it (it died, or lost Redis) is
// taken over: TookOver says so and names that node, whose intent, if any,
// the caller must resolve through the Mapbox list before sending a create.
// Before this node has joined the fleet (Open found Redis down), it fails
// at once with ErrUnreachable.
func (f *Fleet) TryAcquire(ctx context.Context, tileset string) (*Lease, error) {
	if tileset == "" {
		return nil, errors.New("fleet: acquire: empty tileset")
	}
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if err := f.notJoined("acquire the lease on " + tileset); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	start := f.now()
	lock, err := f.locks.Obtain(ctx, f.keys.lease(tileset), f.opts.LeaseTTL, &redislock.Options{Metadata: "@" + f.opts.Node})
	if errors.Is(err, redislock.ErrNotObtained) {
		holder, _ := f.rdb.HGet(ctx, f.keys.leaseInfo(tileset), "node").Result()
		if holder == "" {
			holder = "another node"
		}
		return nil, fmt.Errorf("fleet: tileset %s: held by %s: %w", tileset, holder, ErrLeaseHeld)
	}
	if err != nil {
		return nil, f.redisErr("acquire the lease on "+tileset, err)
	}
	l := &Lease{f: f, tileset: tileset, lock: lock, value: lock.Token() + lock.Metadata(),
		validUntil: start.Add(f.opts.LeaseTTL), lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	res, err := acquiredScript.Run(ctx, f.rdb, []string{f.keys.fence(tileset), f.keys.leaseInfo(tileset)}, f.opts.Node).Slice()
	if err != nil || len(res) < 3 {
		lock.Release(ctx)
		if err == nil {
			err = errShortReply
		}
		return nil, f.redisErr("acquire the lease on "+tileset, err)
	}
	l.token = toInt64(res[0])
	prevState, _ := res[1].(string)
	l.prevNode, _ = res[2].(string)
	l.tookOver = prevState == "held"
	if l.tookOver {
		f.metrics.Takeovers.Add(1)
		f.log.Warn("took over the lease of a node that let it expire: its intent is resolved through the Mapbox list",
			"tileset", tileset, "from", l.prevNode, "token", l.token)
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		l.release(ctx)
		return nil, ErrClosed
	}
	f.leases[l] = struct{}{}
	f.wg.Add(1)
	f.mu.Unlock()
	go l.renew()
	return l, nil
}

// Acquire waits until it holds the tileset's lease, or ctx ends (then it
// returns ctx's error). Errors other than ErrLeaseHeld (Redis unreachable)
// are returned at once: the caller decides whether to try again.
func (f *Fleet) Acquire(ctx context.Context, tileset string) (*Lease, error) {
	poll := min(max(f.opts.LeaseTTL/10, 20*time.Millisecond), time.Second)
	for {
		l, err := f.TryAcquire(ctx, tileset)
		if !errors.Is(err, ErrLeaseHeld) {
			return l, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// Tileset is the tileset the lease is on.
func (l *Lease) Tileset() string { return l.tileset }

// Token is the lease's fencing token: greater than that of every earlier
// holder of the tileset (while Redis keeps its data).
func (l *Lease) Token() int64 { return l.token }

// TookOver reports whether the previous holder let the lease expire instead
// of releasing it, and names it.
func (l *Lease) TookOver() (from string, ok bool) { return l.prevNode, l.tookOver }

// Lost is closed once the lease is lost.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// renew extends the lease every third of its time to live until Release,
// and declares it lost when it cannot.
func (l *Lease) renew() {
	defer l.f.wg.Done()
	defer close(l.done)
	ttl := l.f.opts.LeaseTTL
	next := ttl / 3
	for {
		t := time.NewTimer(next)
		select {
		case <-l.stop:
			t.Stop()
			return
		case <-t.C:
		}
		start := l.f.now()
		ctx, cancel := context.WithTimeout(context.Background(), min(l.f.opts.Timeout, ttl/3))
		err := l.lock.Refresh(ctx, ttl, nil)
		cancel()
		next = ttl / 3
		switch {
		case err == nil:
			l.mu.Lock()
			l.validUntil = start.Add(ttl)
			l.mu.Unlock()
		case errors.Is(err, redislock.ErrNotObtained):
			l.lose(fmt.Errorf("fleet: tileset %s: the lease expired or was taken over: %w", l.tileset, ErrLeaseLost))
			return
		default:
			l.mu.Lock()
			left := l.validUntil.Sub(l.f.now())
			l.mu.Unlock()
			if left <= 0 {
				l.lose(fmt.Errorf("fleet: tileset %s: could not renew the lease within its TTL (%v): %w: %w", l.tileset, ttl,
					ErrLeaseLost, redactErr(err, l.f.opts.Password)))
				return
			}
			l.f.log.Warn("cannot renew a lease; retrying", "tileset", l.tileset, "left", left.Round(time.Millisecond), "err", l.f.redisErr("renew", err))
			next = min(ttl/10, left)
		}
	}
}

// lose marks the lease lost, once.
func (l *Lease) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr != nil {
		return
	}
	l.lostErr = err
	select {
	case <-l.lost:
	default:
		close(l.lost)
	}
	if !l.released {
		l.f.log.Warn("lease lost: work on the tileset stops", "tileset", l.tileset, "token", l.token, "err", err)
	}
}

// held returns the error of a lease lost or timed out locally, nil while it
// may still hold.
func (l *Lease) held() error {
	l.mu.Lock()
	lost, late := l.lostErr, !l.f.now().Before(l.validUntil)
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	if late {
		err := fmt.Errorf("fleet: tileset %s: the lease was not renewed within its TTL: %w", l.tileset, ErrLeaseLost)
		l.lose(err)
		return err
	}
	return nil
}

// Check confirms with Redis that this node still holds the lease and that
// no newer token exists: call it right before a create. It fails with
// ErrLeaseLost (and ErrFenced when superseded) when it does not hold, and
// with Redis' error when Redis does not answer: either way, do not send.
func (l *Lease) Check(ctx context.Context) error {
	_, err := l.fenced(ctx, "check the lease", checkScript, nil)
	return err
}

// Release gives the lease up, marks it released (so the next holder does not
// see a takeover) and stops its renewal. Releasing a lost lease returns its
// error; releasing twice does nothing.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.f.mu.Lock()
	delete(l.f.leases, l)
	l.f.mu.Unlock()
	err := l.release(ctx)
	l.lose(fmt.Errorf("fleet: tileset %s: released: %w", l.tileset, ErrLeaseLost))
	return err
}

func (l *Lease) release(ctx context.Context) error {
	_, err := l.fenced(ctx, "release the lease", releaseScript, nil, l.f.keys.leaseInfo(l.tileset))
	return err
}
