package control

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FleetSource is what the control endpoint reads of fleet mode, from a
// Source that implements it (*daemon.Daemon does).
type FleetSource interface {
	// FleetStatus describes fleet mode now, asking the fleet's Redis for
	// the nodes and leases; nil when the daemon is not in a fleet.
	FleetStatus(ctx context.Context) *Fleet
	// FleetCounters are fleet mode's counters, read without asking Redis;
	// ok is false when the daemon is not in a fleet.
	FleetCounters() (FleetCounters, bool)
}

// Fleet is fleet mode as /status shows it: the nodes alive, who holds
// which lease, the shared budget's limit, and what waits for the fleet.
type Fleet struct {
	Node  string `json:"node"`
	Group string `json:"group"`
	// Redis is the server's URL without user information; RedisVersion
	// what it reports.
	Redis        string `json:"redis,omitempty"`
	RedisVersion string `json:"redis_version,omitempty"`
	// Reachable is false while Redis does not answer: the budget runs on
	// this node's share, and shared folders wait. Error says why.
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// SharedLimit requests per SharedWindowSeconds is the account's limit
	// a node learned from Mapbox and published (0: none yet), LimitFrom
	// that node.
	SharedLimit         int          `json:"shared_limit,omitempty"`
	SharedWindowSeconds float64      `json:"shared_window_seconds,omitempty"`
	LimitFrom           string       `json:"limit_from,omitempty"`
	Nodes               []FleetNode  `json:"nodes,omitempty"`
	Leases              []FleetLease `json:"leases,omitempty"`
	LeasesTruncated     bool         `json:"leases_truncated,omitempty"`
	// Claimed are the tilesets this node holds a lease on.
	Claimed []string `json:"claimed,omitempty"`
	// Waiting are this node's jobs of shared folders that wait for the fleet.
	Waiting  []FleetWait   `json:"waiting,omitempty"`
	Counters FleetCounters `json:"counters"`
}

// FleetNode is a node alive, and how long ago its heartbeat reached Redis.
type FleetNode struct {
	Name        string  `json:"name"`
	SeenSeconds float64 `json:"seen_seconds"`
}

// FleetLease is a tileset's lease held now.
type FleetLease struct {
	Tileset        string  `json:"tileset"`
	Node           string  `json:"node"`
	Token          int64   `json:"token"`
	HeldSeconds    float64 `json:"held_seconds"`
	ExpiresSeconds float64 `json:"expires_seconds"`
}

// FleetWait is a job waiting for the fleet, and why.
type FleetWait struct {
	JobID   uint64    `json:"job_id"`
	Tileset string    `json:"tileset"`
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
}

// FleetCounters count what fleet mode did since the daemon started.
type FleetCounters struct {
	// BudgetWaits: requests that waited for the shared budget.
	BudgetWaits int64 `json:"budget_waits"`
	// Takeovers: leases taken over from a node that let them expire.
	Takeovers int64 `json:"takeovers"`
	// Fallbacks: times the budget fell back to this node's share.
	Fallbacks   int64 `json:"fallbacks"`
	RedisErrors int64 `json:"redis_errors"`
	// DataLosses: times Redis was seen to have lost the fleet's data.
	DataLosses int64 `json:"data_losses"`
	// Reachable: Redis answers; Fallback: the budget runs on this node's share.
	Reachable bool `json:"-"`
	Fallback  bool `json:"-"`
	// Claimed and Waiting count this node's leases and waiting jobs.
	Claimed int `json:"-"`
	Waiting int `json:"-"`
}

// fleetTimeout bounds what /status asks the fleet's Redis.
const fleetTimeout = 3 * time.Second

// fleetStatus is the daemon's fleet, if it has one.
func (s *Server) fleetStatus() *Fleet {
	fs, ok := s.src.(FleetSource)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), fleetTimeout)
	defer cancel()
	return fs.FleetStatus(ctx)
}

// fleetCollector turns fleet mode's counters into metrics; it says nothing
// when the daemon is not in a fleet.
type fleetCollector struct {
	s                                                    *Server
	budgetWaits, takeovers, fallbacks, redisErrors, lost *prometheus.Desc
	reachable, fallback, claimed, waiting                *prometheus.Desc
}

func newFleetCollector(s *Server) *fleetCollector {
	return &fleetCollector{s: s,
		budgetWaits: desc("tilesyncd_fleet_budget_waits_total", "API requests that waited for the fleet's shared budget (its limiter said not yet, or a shared hold)."),
		takeovers:   desc("tilesyncd_fleet_lease_takeovers_total", "Tileset leases taken over from a node that let them expire (it died, or lost Redis)."),
		fallbacks:   desc("tilesyncd_fleet_fallbacks_total", "Times the budget fell back to this node's share because Redis could not be reached."),
		redisErrors: desc("tilesyncd_fleet_redis_errors_total", "Heartbeats that did not reach the fleet's Redis."),
		lost:        desc("tilesyncd_fleet_data_losses_total", "Times the fleet's Redis was seen to have lost its data."),
		reachable:   desc("tilesyncd_fleet_redis_reachable", "1 while the fleet's Redis answers."),
		fallback:    desc("tilesyncd_fleet_fallback", "1 while the budget runs on this node's share of it (Redis unreachable)."),
		claimed:     desc("tilesyncd_fleet_leases_held", "Tileset leases this node holds (shared folders)."),
		waiting:     desc("tilesyncd_fleet_waiting_jobs", "Jobs of shared folders waiting for the fleet (a lease another node holds, or Redis)."),
	}
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.budgetWaits, c.takeovers, c.fallbacks, c.redisErrors, c.lost, c.reachable, c.fallback, c.claimed, c.waiting} {
		ch <- d
	}
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	fs, ok := c.s.src.(FleetSource)
	if !ok {
		return
	}
	n, ok := fs.FleetCounters()
	if !ok {
		return
	}
	counter := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	counter(c.budgetWaits, n.BudgetWaits)
	counter(c.takeovers, n.Takeovers)
	counter(c.fallbacks, n.Fallbacks)
	counter(c.redisErrors, n.RedisErrors)
	counter(c.lost, n.DataLosses)
	gauge(c.reachable, flag(n.Reachable))
	gauge(c.fallback, flag(n.Fallback))
	gauge(c.claimed, float64(n.Claimed))
	gauge(c.waiting, float64(n.Waiting))
}
