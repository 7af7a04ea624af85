package daemon

import (
	"time"

	"github.com/tilesyncd/tilesyncd/control"
)

var _ control.BandwidthSource = (*Daemon)(nil)

// Bandwidth is the cap on staging in force now (mapbox.bandwidth_limit,
// which the stager applies), for /status; nil when none is set.
func (d *Daemon) Bandwidth() *control.Bandwidth {
	if !d.bandwidth.Limited() {
		return nil
	}
	rate, until := d.bandwidth.At(time.Now()) // the stager's clock
	return &control.Bandwidth{Limit: d.bandwidth.String(), BytesPerSecond: rate, Until: until}
}
