package daemon

import (
	"context"
	"net"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// controlParts is what the daemon keeps for its control endpoint.
type controlParts struct {
	api        *control.APIMetrics
	version    string
	stallAfter time.Duration
}

// observe returns the Mapbox client's Observe hook: the budget learns from
// each exchange, and the control endpoint counts it.
func (d *Daemon) observe(opts Options) func(mapbox.Exchange) {
	d.control = controlParts{api: control.NewAPIMetrics(), version: opts.Version, stallAfter: opts.StallAfter}
	budget, api := d.budget, d.control.api
	return func(ex mapbox.Exchange) {
		budget.Observe(ex)
		api.Observe(ex)
	}
}

// listenControl opens the control endpoint's listener, or returns nil when
// the configuration turns it off.
func (d *Daemon) listenControl() (net.Listener, error) {
	c := d.cfg.Control
	if !c.Enabled() {
		return nil, nil
	}
	return control.Listen(c.Listen, c.AllowRemote)
}

// serveControl serves the control endpoint on ln until ctx ends.
func (d *Daemon) serveControl(ctx context.Context, srv *control.Server, ln net.Listener) error {
	return srv.Serve(ctx, ln)
}

// controlServer builds the control endpoint's server: served when the
// configuration turns the endpoint on, and always the judge of health for
// notifications.
func (d *Daemon) controlServer() (*control.Server, error) {
	return control.New(control.Options{Source: d, Actions: d, API: d.control.api, Version: d.control.version,
		StallAfter: d.control.stallAfter, Hosts: d.cfg.Control.Hosts, Clock: d.clock, Logger: d.log.With("component", "control")})
}

// Records is the state database (control.Source).
func (d *Daemon) Records() control.Records { return d.store }

// Activity is what intake and the sender did and do (control.Source).
func (d *Daemon) Activity() control.Activity {
	in, st := d.intake.Stats(), d.syncer.Stats()
	a := control.Activity{
		Seen: in.Seen.Load(), Queued: in.Queued.Load(), Refused: in.Refused.Load(),
		Uploaded: st.Uploaded.Load(), Failed: st.Failed.Load(), BytesStaged: st.BytesStaged.Load(),
		Unchanged: in.Unchanged.Load() + st.Unchanged.Load(), Cancelled: in.Cancelled.Load() + st.Cancelled.Load(),
		AuthError: d.syncer.AuthError(), LastDone: d.syncer.LastDone(), Transfers: map[uint64]control.Progress{},
	}
	for id, t := range d.syncer.Transfers() {
		a.Transfers[id] = control.Progress{Sent: t.Sent, Total: t.Total}
	}
	p := st.MTS.Counts()
	a.MTS = control.Publishes{Succeeded: p.Succeeded, Failed: p.Failed, Superseded: p.Superseded,
		ComputeUnits: p.ComputeUnits, Warnings: p.Warnings}
	return a
}

// BudgetStats describes the API rate budget (control.Source).
func (d *Daemon) BudgetStats() ratelimit.Stats { return d.budget.Stats() }

// Folders describes each watch folder (control.Source).
func (d *Daemon) Folders() []watcher.Status {
	out := make([]watcher.Status, len(d.watchers))
	for i, w := range d.watchers {
		out[i] = w.Status()
	}
	return out
}
