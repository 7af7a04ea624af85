package fleet

import (
	"testing"
	"time"
)

// TestLeases lists the leases held now across nodes: a released one drops
// out, one whose holder died stays until its TTL ends.
func TestLeases(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 30*time.Second)
	a, b := h.open("a"), h.open("b")
	la, err := a.TryAcquire(ctx, "acme.roads")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.TryAcquire(ctx, "acme.parcels")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryAcquire(ctx, "acme.gone"); err != nil {
		t.Fatal(err)
	}
	got, truncated, err := a.Leases(ctx, 10)
	if err != nil || truncated || len(got) != 3 {
		t.Fatalf("Leases: %+v %v %v, want 3", got, truncated, err)
	}
	if got[0].Tileset != "acme.gone" || got[2].Tileset != "acme.roads" || got[2].Node != "a" || got[2].Token != la.Token() || got[1].Node != "b" {
		t.Errorf("leases: %+v", got)
	}
	for _, l := range got {
		if l.Expires <= 0 || l.Expires > time.Second || l.Held < 0 || l.Held > 10*time.Second {
			t.Errorf("lease %s: held %v, expires %v", l.Tileset, l.Held, l.Expires)
		}
	}
	if got, truncated, _ := a.Leases(ctx, 2); len(got) != 2 || !truncated {
		t.Errorf("Leases(2): %d, truncated %v", len(got), truncated)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := a.Leases(ctx, 10); len(got) != 2 {
		t.Errorf("after a release: %+v", got)
	}
}
