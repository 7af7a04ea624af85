package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinCleanupCompletedAfter is the shortest mapbox.cleanup_completed_after:
// a status younger than that may still be what tilesyncd's recovery of a
// lost create looks for in Mapbox's list.
const MinCleanupCompletedAfter = time.Hour

// ageDays is an age that starts with a number of days: "7d", "1d12h".
var ageDays = regexp.MustCompile(`^(\d+)d(.*)$`)

// ParseAge reads an age: a Go duration ("36h", "90m") or a whole number of
// days, alone or followed by a duration ("7d", "1d12h"). A day is 24 hours.
// It refuses a negative age.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days int64
	rest := s
	m := ageDays.FindStringSubmatch(s)
	if m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("%q: too many days", s)
		}
		days, rest = n, m[2]
	}
	var d time.Duration
	if rest != "" || m == nil {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%q is not an age (write it like 7d, 36h or 1d12h)", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// cleanup reads mapbox.cleanup_completed_after: "" or off (the default)
// leave Mapbox's list of upload statuses alone.
func (p *parser) cleanup(cfg *Config, raw mapboxYAML) {
	const at = "mapbox.cleanup_completed_after"
	s := strings.TrimSpace(raw.CleanupCompletedAfter)
	if s == "" || s == "off" {
		return
	}
	d, err := ParseAge(s)
	switch {
	case err != nil:
		p.errorf(at, "%v, or off", err)
	case d < MinCleanupCompletedAfter:
		p.errorf(at, "%s is too short (at least %s, or off)", d, MinCleanupCompletedAfter)
	default:
		cfg.Mapbox.CleanupCompletedAfter = d
	}
}
