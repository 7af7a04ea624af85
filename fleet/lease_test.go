package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLeaseExclusive: nodes competing for one tileset hold it one at a
// time, each with a greater token, and each one's fenced writes pass.
func TestLeaseExclusive(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 60*time.Second)
	fleets := []*Fleet{h.open("a"), h.open("b"), h.open("c")}
	const tileset = "acme.parcels"

	first, err := fleets[0].TryAcquire(ctx, tileset)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fleets[1].TryAcquire(ctx, tileset); !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), "held by a") {
		t.Fatalf("TryAcquire of a held lease: %v, want ErrLeaseHeld naming a", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(ctx); err != nil {
		t.Errorf("a second Release: %v", err)
	}
	if err := first.Check(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Check after Release: %v, want ErrLeaseLost", err)
	}

	var inside atomic.Int32
	var mu sync.Mutex
	var tokens []int64
	var wg sync.WaitGroup
	for _, f := range fleets {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					l, err := f.Acquire(ctx, tileset)
					if err != nil {
						t.Error(err)
						return
					}
					if n := inside.Add(1); n != 1 {
						t.Errorf("%d holders of the lease at once", n)
					}
					if _, ok := l.TookOver(); ok {
						t.Errorf("%s took over a released lease", f.Node())
					}
					mu.Lock()
					tokens = append(tokens, l.Token())
					mu.Unlock()
					if err := l.RecordHeld(ctx, fmt.Sprintf("hash-%d", l.Token()), "upload"); err != nil {
						t.Errorf("a holder's write: %v", err)
					}
					inside.Add(-1)
					if err := l.Release(ctx); err != nil {
						t.Error(err)
					}
				}
			}()
		}
	}
	wg.Wait()
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("tokens in order of holding: %v: not increasing", tokens)
		}
	}
	if len(tokens) != 24 || tokens[0] != first.Token()+1 {
		t.Errorf("tokens %v after the first lease's %d", tokens, first.Token())
	}
	for _, f := range fleets {
		if n := f.metrics.Takeovers.Load(); n != 0 {
			t.Errorf("%s: %d takeovers", f.Node(), n)
		}
	}
}

// TestLeaseExpiryTakeoverAndFencing: a holder that dies mid-create (its
// intent recorded) loses the lease when its time to live passes; another
// node takes it over, sees the intent, and the dead holder's late writes
// are refused by the fencing token.
func TestLeaseExpiryTakeoverAndFencing(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 60*time.Second)
	a, b := h.open("a"), h.open("b")
	const tileset = "acme.roads"
	const staged = "https://tilesets-staging.s3.amazonaws.com/acme/k1"

	la, err := a.Acquire(ctx, tileset)
	if err != nil {
		t.Fatal(err)
	}
	if err := la.SetIntent(ctx, "h1", staged); err != nil {
		t.Fatal(err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatal(err)
	}
	abandon(la) // SIGKILL mid-create: no renewal, no release

	start := time.Now()
	lb, err := b.Acquire(ctx, tileset)
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("took over after %v; the TTL is 1 s", waited)
	}
	if from, ok := lb.TookOver(); !ok || from != "a" {
		t.Errorf("TookOver() = %q, %v; want a, true", from, ok)
	}
	if lb.Token() <= la.Token() {
		t.Errorf("tokens: taker %d, dead holder %d", lb.Token(), la.Token())
	}
	in, ok, err := b.Intent(ctx, tileset)
	if err != nil || !ok || in.Node != "a" || in.Hash != "h1" || in.StagedURL != staged || in.Token != la.Token() {
		t.Fatalf("Intent = %+v, %v, %v; want a's", in, ok, err)
	}
	if in.Age < 0 || in.Age > 30*time.Second {
		t.Errorf("intent age %v", in.Age)
	}
	if n := b.metrics.Takeovers.Load(); n != 1 {
		t.Errorf("Takeovers = %d", n)
	}

	// The dead holder wakes up believing it still holds: Redis refuses it.
	pretendValid(la)
	err = la.RecordHeld(ctx, "h1", "upload-from-a")
	if !errors.Is(err, ErrFenced) || !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the stale holder's write: %v, want ErrFenced and ErrLeaseLost", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("fencing token %d is older than the current %d", la.Token(), lb.Token())) {
		t.Errorf("error = %v", err)
	}
	select {
	case <-la.Lost():
	default:
		t.Error("the refused lease is not marked lost")
	}
	pretendValid(la)
	if err := la.Check(ctx); !errors.Is(err, ErrFenced) {
		t.Errorf("the stale holder's Check: %v, want ErrFenced", err)
	}
	if _, ok, _ := a.Holds(ctx, tileset, "h1"); ok {
		t.Error("the stale write reached the ledger")
	}

	takerRecords(t, a, b, lb, tileset, staged)
}

// takerRecords: the node that took over resolves the intent (here: the
// create did happen) and records it; then a new intent, cleared; then a
// release, after which the next holder sees no takeover.
func takerRecords(t *testing.T, a, b *Fleet, lb *Lease, tileset, staged string) {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	if err := lb.RecordHeld(ctx, "h1", "upload-1"); err != nil {
		t.Fatal(err)
	}
	if id, ok, err := a.Holds(ctx, tileset, "h1"); err != nil || !ok || id != "upload-1" {
		t.Errorf("Holds(h1) = %q, %v, %v", id, ok, err)
	}
	if _, ok, _ := a.Holds(ctx, tileset, "h2"); ok {
		t.Error("Holds(h2) = true")
	}
	if _, ok, _ := b.Intent(ctx, tileset); ok {
		t.Error("the intent for the held hash is still there")
	}
	held, ok, err := a.Held(ctx, tileset)
	if err != nil || !ok || held.Node != "b" || held.Token != lb.Token() {
		t.Errorf("Held = %+v, %v, %v", held, ok, err)
	}

	if err := lb.SetIntent(ctx, "h2", staged); err != nil {
		t.Fatal(err)
	}
	if err := lb.ClearIntent(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Intent(ctx, tileset); ok {
		t.Error("ClearIntent left the intent")
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lc, err := a.TryAcquire(ctx, tileset)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lc.TookOver(); ok {
		t.Error("a released lease counted as taken over")
	}
}

// TestLeaseRenewal: a lease held longer than its TTL stays held.
func TestLeaseRenewal(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 30*time.Second)
	a, b := h.open("a"), h.open("b")
	l, err := a.Acquire(ctx, "acme.t")
	if err != nil {
		t.Fatal(err)
	}
	// Three TTLs pass: the lease must not be lost meanwhile.
	select {
	case <-l.Lost():
		t.Fatal("a renewed lease was lost")
	case <-time.After(3 * time.Second):
	}
	if _, err := b.TryAcquire(ctx, "acme.t"); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("after three TTLs: TryAcquire = %v", err)
	}
	if err := l.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLeasePartition: a holder cut off from Redis loses its lease when its
// TTL passes (fail closed), another node takes over, and the cut-off
// holder's writes are refused once it reaches Redis again.
func TestLeasePartition(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 60*time.Second)
	p := h.srv.NewProxy()
	a, b := h.open("a", via(p.URL())), h.open("b")
	la, err := a.Acquire(ctx, "acme.roads")
	if err != nil {
		t.Fatal(err)
	}
	p.Partition()
	select {
	case <-la.Lost():
	case <-ctx.Done():
		t.Fatal("a partitioned holder kept its lease")
	}
	if err := la.Check(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Check behind a partition: %v", err)
	}
	if ok, _ := a.Reachable(); ok {
		t.Error("Reachable() behind a partition")
	}
	lb, err := b.Acquire(ctx, "acme.roads")
	if err != nil {
		t.Fatal(err)
	}
	if from, ok := lb.TookOver(); !ok || from != "a" {
		t.Errorf("TookOver() = %q, %v", from, ok)
	}
	p.Heal()
	waitFor(t, "a reaching Redis again", 10*time.Second, func() bool { ok, _ := a.Reachable(); return ok })
	if err := la.SetIntent(ctx, "h", "https://s3/k"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("a lost lease's write: %v", err)
	}
	pretendValid(la)
	if err := la.SetIntent(ctx, "h", "https://s3/k"); !errors.Is(err, ErrFenced) {
		t.Errorf("the stale holder's write reaching Redis: %v, want ErrFenced", err)
	}
	if err := lb.Check(ctx); err != nil {
		t.Errorf("the new holder: %v", err)
	}
}

// TestLeaseRedisLostData: Redis restarted without its data forgets the
// lock and the tokens: the holder loses its lease, and its writes are
// refused even though the new tokens start again from 1.
func TestLeaseRedisLostData(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 60*time.Second)
	a, b := h.open("a"), h.open("b")
	for range 3 { // push the token up
		l, err := a.Acquire(ctx, "acme.t")
		if err != nil {
			t.Fatal(err)
		}
		l.Release(ctx)
	}
	la, err := a.Acquire(ctx, "acme.t")
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Restart(false)
	select {
	case <-la.Lost():
	case <-ctx.Done():
		t.Fatal("the lease outlived Redis' data")
	}
	lb, err := b.Acquire(ctx, "acme.t")
	if err != nil {
		t.Fatal(err)
	}
	if lb.Token() >= la.Token() {
		t.Fatalf("token after the loss %d, before %d: the test shows nothing", lb.Token(), la.Token())
	}
	pretendValid(la)
	if err := la.RecordHeld(ctx, "h", "u"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the old holder's write after Redis lost its data: %v", err)
	}
	if err := lb.RecordHeld(ctx, "h", "u"); err != nil {
		t.Errorf("the new holder's write: %v", err)
	}
}

func TestLeaseAfterClose(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 30*time.Second)
	a, b := h.open("a"), h.open("b")
	if _, err := a.Acquire(ctx, "acme.t"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if _, err := a.TryAcquire(ctx, "acme.x"); !errors.Is(err, ErrClosed) {
		t.Errorf("TryAcquire after Close: %v", err)
	}
	l, err := b.TryAcquire(ctx, "acme.t") // Close released it: no wait, no takeover
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.TookOver(); ok {
		t.Error("a lease released by Close counted as taken over")
	}
	if err := a.Budget(30, defaultBudgetOptions()).Wait(context.Background(), "create"); !errors.Is(err, ErrClosed) {
		t.Errorf("Wait after Close: %v", err)
	}
}
