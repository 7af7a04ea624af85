package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/fleet"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/syncer"
)

// Fleet mode (README "Fleet"): with a fleet section the daemon joins the
// fleet on its Redis, spends the account's shared budget instead of a
// budget of its own, and coordinates the shared watch folders' tilesets
// with the other nodes. Without one, nothing here runs and nothing needs
// Redis.

// fleetParts is what the daemon keeps of the fleet; zero without one.
type fleetParts struct {
	f      *fleet.Fleet
	budget *fleet.Budget
}

// openTimeout bounds joining the fleet at start: a Redis that does not
// answer is no reason to wait (the node starts on its share of the budget
// and joins when Redis answers), so this bounds only a Redis that answers
// slowly.
const openTimeout = 15 * time.Second

// newBudget opens the fleet when the configuration has one and returns its
// shared budget, else a budget of this process alone; publishes get a
// budget of their own either way (fleet-wide in a fleet).
func (d *Daemon) newBudget(bo ratelimit.Options) (ratelimit.Limiter, error) {
	cfg := d.cfg
	if cfg.Fleet == nil {
		return ratelimit.WithPublishBudget(ratelimit.NewBudget(cfg.Mapbox.RequestsPerMinute, bo),
			ratelimit.NewBudget(cfg.Mapbox.PublishesPerMinute, bo)), nil
	}
	fc := cfg.Fleet
	ttl := fc.LeaseTTL
	known, err := d.store.FleetNodesSeen()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	opts := fleet.Options{URL: fc.Redis, Password: fc.Password.Reveal(), Node: fc.Node, Group: fc.Group,
		Logger: d.log, LeaseTTL: ttl, KnownNodes: known, NodesSeen: d.nodesSeen,
		// A node counts as alive, and Redis as reachable, on the scale of a lease.
		HeartbeatTTL: min(fleet.DefaultHeartbeatTTL, max(ttl/2, time.Second)),
		Timeout:      min(fleet.DefaultTimeout, max(ttl/3, 500*time.Millisecond))}
	f, err := fleet.Open(ctx, opts) // fails only for the configuration or a refusal, not an unreachable Redis
	if err != nil {
		return nil, fmt.Errorf("%w (see README, \"Fleet\")", err)
	}
	d.fleet = fleetParts{f: f, budget: f.Budget(cfg.Mapbox.RequestsPerMinute, bo)}
	return ratelimit.WithPublishBudget(d.fleet.budget, f.PublishBudget(cfg.Mapbox.PublishesPerMinute, bo)), nil
}

// nodesSeen keeps the count of nodes alive the fleet last saw, so that a
// start while Redis is down spends the right share of the budget.
func (d *Daemon) nodesSeen(n int) {
	if err := d.store.SetFleetNodesSeen(n); err != nil {
		d.log.Warn("cannot record the fleet's node count", "nodes", n, "err", err)
	}
}

// coordinator is the fleet as the sender sees it, nil without one.
func (d *Daemon) coordinator() syncer.Coordinator {
	if d.fleet.f == nil {
		return nil
	}
	return fleetCoordinator{d.fleet.f}
}

// closeFleet leaves the fleet (its leases released), if the daemon joined one.
func (d *Daemon) closeFleet() error {
	if d.fleet.f == nil {
		return nil
	}
	return d.fleet.f.Close()
}

// fleetCoordinator is *fleet.Fleet as the sender's Coordinator.
type fleetCoordinator struct{ f *fleet.Fleet }

var _ syncer.Coordinator = fleetCoordinator{}

func (c fleetCoordinator) Node() string             { return c.f.Node() }
func (c fleetCoordinator) Reachable() (bool, error) { return c.f.Reachable() }
func (c fleetCoordinator) DataLosses() int64        { return c.f.Metrics().DataLosses.Load() }

func (c fleetCoordinator) Claim(ctx context.Context, tileset string) (syncer.Claim, error) {
	l, err := c.f.TryAcquire(ctx, tileset)
	if errors.Is(err, fleet.ErrLeaseHeld) {
		holder := "another node"
		if _, after, ok := strings.Cut(err.Error(), "held by "); ok {
			holder, _, _ = strings.Cut(after, ":")
		}
		return nil, fmt.Errorf("%w: held by %s", syncer.ErrClaimHeld, holder)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (c fleetCoordinator) Held(ctx context.Context, tileset string) (syncer.Held, bool, error) {
	h, ok, err := c.f.Held(ctx, tileset)
	return syncer.Held{Hash: h.Hash, UploadID: h.UploadID, Node: h.Node}, ok, err
}

func (c fleetCoordinator) Intent(ctx context.Context, tileset string) (syncer.Intent, bool, error) {
	in, ok, err := c.f.Intent(ctx, tileset)
	return syncer.Intent{Node: in.Node, Hash: in.Hash, Age: in.Age}, ok, err
}

// statusLeases bounds the leases /status lists.
const statusLeases = 200

// FleetStatus describes fleet mode now, asking Redis for the nodes and
// leases (control.FleetSource); nil without a fleet.
func (d *Daemon) FleetStatus(ctx context.Context) *control.Fleet {
	f := d.fleet.f
	if f == nil {
		return nil
	}
	st := &control.Fleet{Node: f.Node(), Group: f.Group(), Reachable: true, Counters: d.fleetCounters()}
	if ok, err := f.Reachable(); !ok {
		st.Reachable, st.Error = false, err.Error() // Redis is not asked: it would time out
	} else if info, err := f.Info(ctx); err != nil {
		st.Reachable, st.Error = false, err.Error()
	} else {
		st.Redis, st.RedisVersion = info.URL, info.RedisVersion
		st.SharedLimit, st.SharedWindowSeconds, st.LimitFrom = info.Limit, info.Window.Seconds(), info.LimitFrom
		for _, n := range info.Nodes {
			st.Nodes = append(st.Nodes, control.FleetNode{Name: n.Name, SeenSeconds: n.Seen.Seconds()})
		}
		leases, truncated, err := f.Leases(ctx, statusLeases)
		if err != nil {
			st.Error = err.Error()
		}
		st.LeasesTruncated = truncated
		for _, l := range leases {
			st.Leases = append(st.Leases, control.FleetLease{Tileset: l.Tileset, Node: l.Node, Token: l.Token,
				HeldSeconds: l.Held.Seconds(), ExpiresSeconds: l.Expires.Seconds()})
		}
	}
	sh := d.syncer.Shared()
	st.Claimed = sh.Claimed
	for _, w := range sh.Waiting {
		st.Waiting = append(st.Waiting, control.FleetWait{JobID: w.JobID, Tileset: w.Tileset, Reason: w.Reason, Since: w.Since})
	}
	return st
}

// FleetCounters are fleet mode's counters (control.FleetSource); ok is
// false without a fleet. They ask nothing of Redis.
func (d *Daemon) FleetCounters() (control.FleetCounters, bool) {
	if d.fleet.f == nil {
		return control.FleetCounters{}, false
	}
	return d.fleetCounters(), true
}

func (d *Daemon) fleetCounters() control.FleetCounters {
	m := d.fleet.f.Metrics()
	reachable, _ := d.fleet.f.Reachable()
	sh := d.syncer.Shared()
	return control.FleetCounters{BudgetWaits: m.BudgetWaits.Load(), Takeovers: m.Takeovers.Load(), Fallbacks: m.Fallbacks.Load(),
		RedisErrors: m.RedisErrors.Load(), DataLosses: m.DataLosses.Load(), Reachable: reachable,
		Fallback: d.fleet.budget.Stats().Fallback, Claimed: len(sh.Claimed), Waiting: len(sh.Waiting)}
}
