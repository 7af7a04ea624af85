package bwlimit

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse never panics; what it accepts prints as text it accepts
// again, to an equal schedule; At gives a rate of 0 or within the limits,
// and an until after the time asked, or none.
func FuzzParse(f *testing.F) {
	for _, tt := range rateTests {
		f.Add(tt.in)
	}
	for _, s := range []string{"Mon-08:00,512KiB 18:00,off", "08:00,512k;12:00,10M;13:00,512k;18:00,30M;23:00,off",
		"Mon-00:00,512k;Fri-23:59,10M;Sat-10:00,1M;Sun-20:00,off", "18:00,off MONDAY-08:00,1M", "24:00,1M", "12-30,1M"} {
		f.Add(s)
	}
	week := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		sched, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): an empty error", s)
			}
			return
		}
		again, err := Parse(sched.String())
		if err != nil {
			t.Fatalf("Parse(%q) gave %q, which does not parse: %v", s, sched.String(), err)
		}
		if !again.Equal(sched) {
			t.Fatalf("Parse(%q) and Parse(%q) differ", s, sched.String())
		}
		if strings.Contains(sched.String(), "  ") {
			t.Fatalf("String() = %q holds two spaces", sched.String())
		}
		for m := 0; m < minutesPerWeek; m += 97 {
			at := week.Add(time.Duration(m) * time.Minute)
			rate, until := sched.At(at)
			if rate != 0 && (rate < MinRate || rate > MaxRate) {
				t.Fatalf("Parse(%q).At(%s) = %d, out of limits", s, at, rate)
			}
			if !until.IsZero() && !until.After(at) {
				t.Fatalf("Parse(%q).At(%s): until %s is not later", s, at, until)
			}
			if !until.IsZero() {
				if next, _ := sched.At(until); next == rate {
					t.Fatalf("Parse(%q).At(%s): the rate %d does not change at %s", s, at, rate, until)
				}
			}
		}
	})
}
