package config

import (
	"strings"
	"testing"
	"time"
)

func withMapboxLine(line string) string {
	return strings.Replace(minimal, "  username: example\n", "  username: example\n  "+line+"\n", 1)
}

func TestBandwidthLimit(t *testing.T) {
	monday9 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	monday19 := monday9.Add(10 * time.Hour)
	for _, tt := range []struct {
		text          string
		at9, at19     int64 // bytes per second in force on a Monday at 9:00 and at 19:00
		limited       bool
		errorContains string
	}{
		{text: minimal},
		{text: withMapboxLine("bandwidth_limit: off")},
		{text: withMapboxLine(`bandwidth_limit: ""`)},
		{text: withMapboxLine("bandwidth_limit: 2MiB"), at9: 2 << 20, at19: 2 << 20, limited: true},
		{text: withMapboxLine(`bandwidth_limit: "Mon-08:00,512KiB 18:00,off"`), at9: 512 << 10, limited: true},
		{text: withMapboxLine("bandwidth_limit: 08:00,512k;18:00,off"), at9: 512 << 10, limited: true},
		{text: withMapboxLine("bandwidth_limit: 2097152"),
			errorContains: `config.yaml:3: mapbox.bandwidth_limit: "2097152": no unit`},
		{text: withMapboxLine(`bandwidth_limit: "Mon-08:00,512KiB 18:0,off"`),
			errorContains: `config.yaml:3: mapbox.bandwidth_limit: entry 2 "18:0,off": time "18:0": want HH:MM`},
		{text: withMapboxLine("bandwidth_limit: 2MB"), errorContains: `config.yaml:3: mapbox.bandwidth_limit: "2MB": unit "MB" is ambiguous`},
	} {
		cfg, err := Load(writeConfig(t, tt.text), LoadOptions{})
		if tt.errorContains != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errorContains) {
				t.Errorf("%q: %v; want an error with %q", tt.text, err, tt.errorContains)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		bw := cfg.Mapbox.BandwidthLimit
		r9, _ := bw.At(monday9)
		r19, _ := bw.At(monday19)
		if r9 != tt.at9 || r19 != tt.at19 || bw.Limited() != tt.limited {
			t.Errorf("%q: %d at 9:00, %d at 19:00, limited %v; want %d, %d, %v", tt.text, r9, r19, bw.Limited(), tt.at9, tt.at19, tt.limited)
		}
	}
}
