package config

import (
	"strings"

	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
)

// bandwidth reads mapbox.bandwidth_limit, the cap on what staging sends:
// a rate ("2MiB", "512k") or a weekly timetable in the manner of rclone's
// --bwlimit ("Mon-08:00,512KiB 18:00,off"); "" or off (the default) is no
// cap. See package bwlimit for the syntax.
func (p *parser) bandwidth(cfg *Config, raw mapboxYAML) {
	s := strings.TrimSpace(raw.BandwidthLimit)
	if s == "" {
		return
	}
	limit, err := bwlimit.Parse(s)
	if err != nil {
		p.errorf("mapbox.bandwidth_limit", "%v", err)
		return
	}
	cfg.Mapbox.BandwidthLimit = limit
}
