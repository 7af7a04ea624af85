package daemon

import (
	"context"
	"net"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/mapbox"
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
func (d *Daemon) serveControl(ctx context.Context, ln net.Listener) error {
	srv, err := control.New(control.Options{Source: d, API: d.control.api, Version: d.control.version,
		StallAfter: d.control.stallAfter, Hosts: d.cfg.Control.Hosts, Logger: d.log.With("component", "control")})
	if err != nil {
		ln.Close()
		return err
	}
	return srv.Serve(ctx, ln)
}
