package control

import "time"

// Bandwidth is the cap on what staging sends (mapbox.bandwidth_limit), as
// /status shows it.
type Bandwidth struct {
	// Limit is the configured limit as written: one rate ("2MiB") or a
	// weekly timetable ("Mon-08:00,512KiB 18:00,off").
	Limit string `json:"limit"`
	// BytesPerSecond is the rate in force now; 0: not capped now (the
	// timetable's "off").
	BytesPerSecond int64 `json:"bytes_per_second"`
	// Until is when the timetable changes the rate next; zero: never.
	Until time.Time `json:"until,omitzero"`
}

// BandwidthSource is a Source that caps staging: *daemon.Daemon. A Source
// that is not one has no cap to show.
type BandwidthSource interface {
	// Bandwidth is the cap in force now; nil when none is set.
	Bandwidth() *Bandwidth
}

// bandwidthOf is src's cap in force, or nil.
func bandwidthOf(src Source) *Bandwidth {
	if b, ok := src.(BandwidthSource); ok {
		return b.Bandwidth()
	}
	return nil
}
