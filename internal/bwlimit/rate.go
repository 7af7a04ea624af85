package bwlimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits of a rate, in bytes per second.
const (
	// MinRate is the least rate accepted: 1 KiB/s.
	MinRate = 1 << 10
	// MaxRate is the greatest: 1 TiB/s, far above any link, and far from
	// overflowing an int64.
	MaxRate = 1 << 40
)

// ParseRate reads one rate: "2MiB", "512k", "1.5M", "100KiB/s", or "off"
// (no limit), which it returns as 0. See the package documentation for the
// units.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "off") {
		return 0, nil
	}
	if strings.Contains(t, ":") {
		return 0, fmt.Errorf("%q: tilesyncd limits only what it sends: write one rate, not UP:DOWN", s)
	}
	t = strings.TrimSuffix(t, "/s")
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], t[i:]
	if !validNumber(num) {
		return 0, fmt.Errorf("%q is not a rate: write it like 2MiB, 512KiB, 512k or off", s)
	}
	mult, err := multiplier(unit)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate: %w", s, err)
	}
	bytes := v * float64(mult)
	switch {
	case bytes == 0:
		return 0, fmt.Errorf("%q would stop staging: write off for no limit", s)
	case bytes < MinRate:
		return 0, fmt.Errorf("%q is below the least rate, 1KiB per second", s)
	case bytes > MaxRate:
		return 0, fmt.Errorf("%q is above the greatest rate, 1TiB per second", s)
	}
	return int64(bytes), nil
}

// validNumber: digits with at most one '.', and at least one digit.
func validNumber(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

var errNoUnit = errors.New("no unit: write 512KiB (or 512k), 2MiB (or 2M), 1GiB (or 1G), or B for bytes")

// multiplier is the number of bytes a unit stands for.
func multiplier(unit string) (int64, error) {
	switch strings.ToLower(unit) {
	case "":
		return 0, errNoUnit
	case "b":
		return 1, nil
	case "k", "ki", "kib":
		return 1 << 10, nil
	case "m", "mi", "mib":
		return 1 << 20, nil
	case "g", "gi", "gib":
		return 1 << 30, nil
	case "kb", "mb", "gb":
		return 0, fmt.Errorf("unit %q is ambiguous: write %siB (or %s); units are binary, as in rclone", unit, unit[:1], unit[:1])
	}
	return 0, fmt.Errorf("unknown unit %q: write B, KiB, MiB or GiB (or k, M, G)", unit)
}

// FormatRate writes a rate for people: "off" for 0, else the largest binary
// unit that keeps a number of at least 1, with up to two decimals and
// "/s": "512KiB/s", "1.5MiB/s".
func FormatRate(r int64) string {
	if r <= 0 {
		return "off"
	}
	units := []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}}
	for _, u := range units {
		if r >= u.size {
			s := strconv.FormatFloat(float64(r)/float64(u.size), 'f', 2, 64)
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			return s + u.name + "/s"
		}
	}
	return strconv.FormatInt(r, 10) + "B/s"
}
