package main

import (
	"io"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// printBandwidth writes the cap on staging in force, when one is set, under
// the rate budget:
//
//	Bandwidth:    staging capped at 512KiB/s until Mon 18:00 (mapbox.bandwidth_limit: Mon-08:00,512KiB 18:00,off)
//	Bandwidth:    staging capped at 2MiB/s (mapbox.bandwidth_limit: 2MiB)
func printBandwidth(w io.Writer, bw *control.Bandwidth, now time.Time) {
	if bw == nil {
		return
	}
	what := "not capped"
	if bw.Until.IsZero() {
		what = "not capped now"
	}
	if bw.BytesPerSecond > 0 {
		what = "capped at " + bwlimit.FormatRate(bw.BytesPerSecond)
	}
	if !bw.Until.IsZero() {
		layout := "Mon 15:04"
		if bw.Until.Sub(now) > 6*24*time.Hour {
			layout = "Mon 2 Jan 15:04"
		}
		what += " until " + bw.Until.Local().Format(layout)
	}
	terminal.Fprintf(w, "Bandwidth:    staging %s (mapbox.bandwidth_limit: %s)\n", what, bw.Limit)
}
