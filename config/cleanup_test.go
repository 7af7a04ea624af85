package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"7d", 7 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{" 2d ", 48 * time.Hour, ""},
		{"0", 0, ""},
		{"0d", 0, ""},
		{"", 0, "is not an age"},
		{"7", 0, "is not an age"},
		{"d", 0, "is not an age"},
		{"7days", 0, "is not an age"},
		{"1.5d", 0, "is not an age"},
		{"-3h", 0, "negative"},
		{"1d-1h", 0, "negative"},
		{"999999999d", 0, "too many days"},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseAge(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
		}
	}
}

func TestCleanupCompletedAfter(t *testing.T) {
	withCleanup := func(v string) string {
		return strings.Replace(minimal, "  username: example\n", "  username: example\n  cleanup_completed_after: "+v+"\n", 1)
	}
	for _, tt := range []struct {
		text string
		want time.Duration
	}{
		{minimal, 0},
		{withCleanup("off"), 0},
		{withCleanup("7d"), 7 * 24 * time.Hour},
		{withCleanup("1h"), time.Hour},
	} {
		cfg, err := Load(writeConfig(t, tt.text), LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tt.text, err)
		}
		if cfg.Mapbox.CleanupCompletedAfter != tt.want {
			t.Errorf("cleanup_completed_after = %v, want %v in\n%s", cfg.Mapbox.CleanupCompletedAfter, tt.want, tt.text)
		}
	}
	for _, tt := range []struct{ value, want string }{
		{"7", `config.yaml:3: mapbox.cleanup_completed_after: "7" is not an age (write it like 7d, 36h or 1d12h), or off`},
		{"10m", `config.yaml:3: mapbox.cleanup_completed_after: 10m0s is too short (at least 1h0m0s, or off)`},
	} {
		_, err := Load(writeConfig(t, withCleanup(tt.value)), LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("cleanup_completed_after: %s: error %v, want %q", tt.value, err, tt.want)
		}
	}
}
