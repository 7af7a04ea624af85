package bwlimit

import (
	"strings"
	"testing"
	"time"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

var rateTests = []struct {
	in   string
	want int64
	err  string // substring of the error; "" for none
}{
	{in: "off", want: 0},
	{in: "OFF", want: 0},
	{in: "2MiB", want: 2 * mib},
	{in: "2mib", want: 2 * mib},
	{in: "2M", want: 2 * mib},
	{in: "2m", want: 2 * mib},
	{in: "2Mi", want: 2 * mib},
	{in: "512KiB", want: 512 * kib},
	{in: "512k", want: 512 * kib},
	{in: "512K", want: 512 * kib},
	{in: "1G", want: gib},
	{in: "1GiB/s", want: gib},
	{in: "0.5M", want: mib / 2},
	{in: ".5M", want: mib / 2},
	{in: "1.5MiB", want: 3 * mib / 2},
	{in: "4096B", want: 4096},
	{in: "4096b", want: 4096},
	{in: " 2MiB ", want: 2 * mib},
	{in: "512", err: "no unit"},
	{in: "0", err: "no unit"},
	{in: "0k", err: "write off for no limit"},
	{in: "100B", err: "below the least rate"},
	{in: "2048G", err: "above the greatest rate"},
	{in: "2MB", err: `unit "MB" is ambiguous: write MiB (or M)`},
	{in: "2kb", err: `unit "kb" is ambiguous`},
	{in: "2T", err: `unknown unit "T"`},
	{in: "2Mbit", err: `unknown unit "Mbit"`},
	{in: "10M:1M", err: "not UP:DOWN"},
	{in: "M", err: "is not a rate"},
	{in: "1.2.3M", err: "is not a rate"},
	{in: "-1M", err: "is not a rate"},
	{in: "1e3k", err: `unknown unit "e3k"`},
	{in: "NaNk", err: "is not a rate"},
	{in: "", err: "is not a rate"},
}

func TestParseRate(t *testing.T) {
	for _, tt := range rateTests {
		got, err := ParseRate(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseRate(%q): %v, want %d", tt.in, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseRate(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseRate(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFormatRate(t *testing.T) {
	for _, tt := range []struct {
		in   int64
		want string
	}{
		{0, "off"}, {1000, "1000B/s"}, {kib, "1KiB/s"}, {512 * kib, "512KiB/s"},
		{2 * mib, "2MiB/s"}, {3 * mib / 2, "1.5MiB/s"}, {20 * mib, "20MiB/s"}, {gib + gib/4, "1.25GiB/s"},
	} {
		if got := FormatRate(tt.in); got != tt.want {
			t.Errorf("FormatRate(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A week of 2001: Monday the 1st of January to Sunday the 7th.
func day(d, hh, mm int) time.Time { return time.Date(2001, 1, d, hh, mm, 0, 0, time.UTC) }

var (
	mon = func(hh, mm int) time.Time { return day(1, hh, mm) }
	tue = func(hh, mm int) time.Time { return day(2, hh, mm) }
	sat = func(hh, mm int) time.Time { return day(6, hh, mm) }
	sun = func(hh, mm int) time.Time { return day(7, hh, mm) }
)

func TestScheduleAt(t *testing.T) {
	type at struct {
		t     time.Time
		rate  int64
		until time.Time // zero: never
	}
	tests := []struct {
		in  string
		ats []at
	}{
		{"2MiB", []at{{mon(3, 0), 2 * mib, time.Time{}}, {sun(23, 59), 2 * mib, time.Time{}}}},
		{"off", []at{{mon(3, 0), 0, time.Time{}}}},
		// The example: from Monday 08:00 512 KiB/s, off from 18:00 every day.
		{"Mon-08:00,512KiB 18:00,off", []at{
			{mon(7, 59), 0, mon(8, 0)},
			{mon(8, 0), 512 * kib, mon(18, 0)},
			{mon(17, 59), 512 * kib, mon(18, 0)},
			{mon(18, 0), 0, day(8, 8, 0)}, // next Monday
			{sun(12, 0), 0, day(8, 8, 0)},
		}},
		// rclone's daily example.
		{"08:00,512k 12:00,10M 13:00,512k 18:00,30M 23:00,off", []at{
			{mon(0, 30), 0, mon(8, 0)},
			{mon(8, 0), 512 * kib, mon(12, 0)},
			{mon(12, 30), 10 * mib, mon(13, 0)},
			{mon(13, 0), 512 * kib, mon(18, 0)},
			{mon(22, 59), 30 * mib, mon(23, 0)},
			{mon(23, 0), 0, tue(8, 0)},
			{sun(23, 30), 0, day(8, 8, 0)},
		}},
		// Semicolons, and rclone's weekly example (with a unit for 512);
		// before Sunday 20:00 Saturday's entry holds.
		{"Mon-00:00,512k;Fri-23:59,10M;Sat-10:00,1M;Sun-20:00,off", []at{
			{sun(0, 0), 1 * mib, sun(20, 0)}, // Saturday's rate until Sunday 20:00
			{sun(20, 0), 0, day(8, 0, 0)},
			{mon(0, 0), 512 * kib, day(5, 23, 59)},
			{sat(9, 59), 10 * mib, sat(10, 0)},
		}},
		// The same time twice: the later entry wins (rclone), so Saturday is free.
		{"08:00,512k Sat-08:00,off 20:00,off", []at{
			{day(5, 8, 0), 512 * kib, day(5, 20, 0)},
			{sat(9, 0), 0, sun(8, 0)},
		}},
		// Entries written out of order are sorted; days in any case and long.
		{"18:00,off MONDAY-08:00,1M", []at{{mon(9, 0), mib, mon(18, 0)}, {tue(9, 0), 0, day(8, 8, 0)}}},
		// Equal neighbours do not count as changes.
		{"08:00,1M 12:00,1M 18:00,off", []at{{mon(9, 0), mib, mon(18, 0)}}},
		{"08:00,1M 12:00,1M", []at{{mon(3, 0), mib, time.Time{}}}},
	}
	for _, tt := range tests {
		s, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		for _, a := range tt.ats {
			rate, until := s.At(a.t)
			if rate != a.rate || !until.Equal(a.until) {
				t.Errorf("Parse(%q).At(%s) = %s until %s; want %s until %s", tt.in, a.t.Format("Mon 15:04"),
					FormatRate(rate), until.Format("Mon 2 15:04"), FormatRate(a.rate), a.until.Format("Mon 2 15:04"))
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "empty"},
		{" ; ", "empty"},
		{"512", `"512": no unit`},
		{"Mon-08:00,512KiB 18:00", `entry 2 "18:00": want [DAY-]HH:MM,RATE`},
		{"Mon-08:00,512KiB 2MiB", `entry 2 "2MiB": want [DAY-]HH:MM,RATE`},
		{"08:00,1M,2M", `entry 1 "08:00,1M,2M": want [DAY-]HH:MM,RATE`},
		{"Mon-08:00,512", `entry 1 "Mon-08:00,512": "512": no unit`},
		{"Mon-00:00,512;Fri-23:59,10M", `entry 1 "Mon-00:00,512": "512": no unit`},
		{"Mon-8:00,1M", `entry 1 "Mon-8:00,1M": time "8:00": want HH:MM`},
		{"24:00,1M", `time "24:00": want HH:MM, from 00:00 to 23:59`},
		{"12:60,1M", `time "12:60"`},
		{"12-30,1M", `day "12": want Mon`},
		{"Mo-08:00,1M", `entry 1 "Mo-08:00,1M": day "Mo"`},
		{"Mon-Tue-08:00,1M", `time "Tue-08:00": want HH:MM`},
		{"08:00,1M 18:00,10M:1M", `entry 2 "18:00,10M:1M": "10M:1M": tilesyncd limits only what it sends`},
		{"08:00,1M 18:00,0", `entry 2 "18:00,0": "0": no unit`},
		{"08:00,1M 18:00,", `entry 2 "18:00,": "" is not a rate`},
	} {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): %v; want an error with %q", tt.in, err, tt.want)
		}
	}
}

func TestScheduleStringAndEqual(t *testing.T) {
	s, err := Parse("  Mon-08:00,512KiB ;; 18:00,off ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "Mon-08:00,512KiB 18:00,off"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Schedule{}).String(); got != "off" {
		t.Errorf("zero Schedule's String() = %q, want off", got)
	}
	same := func(a, b string) bool {
		t.Helper()
		x, err1 := Parse(a)
		y, err2 := Parse(b)
		if err1 != nil || err2 != nil {
			t.Fatalf("Parse: %v, %v", err1, err2)
		}
		return x.Equal(y)
	}
	if !same("2MiB", "00:00,2M") || !same("08:00,1M", "Mon-08:00,1M") || !same("off", "08:00,off") || !same("2M", "08:00,2M 12:00,2048KiB") {
		t.Error("equal limits written differently compare unequal")
	}
	if same("2MiB", "1MiB") || same("off", "08:00,1M") || same("08:00,1M 18:00,off", "Mon-08:00,1M 18:00,off") {
		t.Error("different limits compare equal")
	}
	if !(Schedule{}).Equal(mustParse(t, "off")) || (Schedule{}).Limited() || mustParse(t, "08:00,off 12:00,off").Limited() {
		t.Error("the zero Schedule and off differ, or off limits")
	}
}

func mustParse(t *testing.T, s string) Schedule {
	t.Helper()
	sched, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

// TestNextTimeAcrossSummerTime: until is a wall-clock time, also on the
// days the clock changes.
func TestNextTimeAcrossSummerTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	s := mustParse(t, "02:30,1M 03:30,off")
	// 2024-03-31 is a Sunday: at 02:00 the clock jumps to 03:00.
	before := time.Date(2024, 3, 31, 1, 0, 0, 0, paris)
	rate, until := s.At(before)
	if rate != 0 || !until.After(before) {
		t.Errorf("At(%s) = %d until %s; want off until a later time", before, rate, until)
	}
	// 2024-10-27: at 03:00 the clock goes back to 02:00; 02:45 happens
	// twice (00:45 and 01:45 UTC).
	for _, utc := range []time.Time{time.Date(2024, 10, 27, 0, 45, 0, 0, time.UTC), time.Date(2024, 10, 27, 1, 45, 0, 0, time.UTC)} {
		at := utc.In(paris)
		rate, until = s.At(at)
		if rate != mib || !until.After(at) || until.Format("2 15:04") != "27 03:30" {
			t.Errorf("At(%s) = %d until %s; want 1MiB until 03:30 that day", at, rate, until)
		}
	}
}
