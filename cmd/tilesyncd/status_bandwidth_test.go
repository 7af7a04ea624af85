package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/control"
)

func TestPrintBandwidth(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.Local) // a Monday
	tests := []struct {
		bw   *control.Bandwidth
		want string
	}{
		{nil, ""},
		{&control.Bandwidth{Limit: "2MiB", BytesPerSecond: 2 << 20},
			"Bandwidth:    staging capped at 2MiB/s (mapbox.bandwidth_limit: 2MiB)\n"},
		{&control.Bandwidth{Limit: "Mon-08:00,512KiB 18:00,off", BytesPerSecond: 512 << 10, Until: now.Add(6 * time.Hour)},
			"Bandwidth:    staging capped at 512KiB/s until Mon 18:00 (mapbox.bandwidth_limit: Mon-08:00,512KiB 18:00,off)\n"},
		{&control.Bandwidth{Limit: "Mon-08:00,512KiB 18:00,off", Until: now.Add(7*24*time.Hour - 4*time.Hour)},
			"Bandwidth:    staging not capped until Mon 7 Dec 08:00 (mapbox.bandwidth_limit: Mon-08:00,512KiB 18:00,off)\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printBandwidth(&b, tt.bw, now)
		if b.String() != tt.want {
			t.Errorf("printBandwidth(%+v):\n%q\nwant\n%q", tt.bw, b.String(), tt.want)
		}
	}
	// A status with a limit prints it under the rate budget.
	var b bytes.Buffer
	printStatus(&b, control.Status{Source: control.SourceDaemon, Budget: &control.Budget{Limit: 30, WindowSeconds: 60},
		Bandwidth: &control.Bandwidth{Limit: "2MiB", BytesPerSecond: 2 << 20}}, now)
	if !strings.Contains(b.String(), "× 429\nBandwidth:    staging capped at 2MiB/s") {
		t.Errorf("status:\n%s", b.String())
	}
}
