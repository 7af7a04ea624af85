package bwlimit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
)

// Schedule is a parsed limit: one rate, or a weekly timetable. The zero
// Schedule never limits. A Schedule is a value: copy it freely.
type Schedule struct {
	text  string
	slots []slot // by minute of the week, at most one per minute; none: no limit
}

// slot is a rate in force from a minute of the week (0: Sunday 00:00) until
// the next slot's.
type slot struct {
	at   int
	rate int64 // bytes per second; 0: no limit
}

// Parse reads a limit: a rate ("2MiB", "off") or a timetable
// ("Mon-08:00,512KiB 18:00,off"). An error names the entry at fault, by its
// place and text.
func Parse(s string) (Schedule, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })
	if len(fields) == 0 {
		return Schedule{}, errors.New("empty: write a rate (2MiB, off) or a timetable (Mon-08:00,512KiB 18:00,off)")
	}
	if len(fields) == 1 && !strings.Contains(fields[0], ",") {
		r, err := ParseRate(fields[0])
		if err != nil {
			return Schedule{}, err
		}
		return Schedule{text: fields[0], slots: []slot{{at: 0, rate: r}}}, nil
	}
	byMinute := map[int]int64{}
	for i, f := range fields {
		days, minute, r, err := parseEntry(f)
		if err != nil {
			return Schedule{}, fmt.Errorf("entry %d %q: %w", i+1, f, err)
		}
		for _, d := range days {
			byMinute[d*minutesPerDay+minute] = r // a later entry wins, as in rclone
		}
	}
	sched := Schedule{text: strings.Join(fields, " ")}
	for at, r := range byMinute {
		sched.slots = append(sched.slots, slot{at: at, rate: r})
	}
	slices.SortFunc(sched.slots, func(a, b slot) int { return a.at - b.at })
	return sched, nil
}

var everyDay = []int{0, 1, 2, 3, 4, 5, 6}

// parseEntry reads [DAY-]HH:MM,RATE: the days it applies to (one, or all
// seven), its minute of the day and its rate.
func parseEntry(f string) (days []int, minute int, rate int64, err error) {
	when, rateText, ok := strings.Cut(f, ",")
	if !ok || strings.Contains(rateText, ",") {
		return nil, 0, 0, errors.New("want [DAY-]HH:MM,RATE, as in Mon-08:00,512KiB or 18:00,off")
	}
	days = everyDay
	if day, hm, ok := strings.Cut(when, "-"); ok {
		d, err := parseWeekday(day)
		if err != nil {
			return nil, 0, 0, err
		}
		days, when = []int{d}, hm
	}
	if minute, err = parseClock(when); err != nil {
		return nil, 0, 0, err
	}
	if rate, err = ParseRate(rateText); err != nil {
		return nil, 0, 0, err
	}
	return days, minute, rate, nil
}

// parseClock reads HH:MM, 00:00 to 23:59, as minutes since midnight.
func parseClock(s string) (int, error) {
	bad := fmt.Errorf("time %q: want HH:MM, from 00:00 to 23:59", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	var v [4]int
	for i, j := range []int{0, 1, 3, 4} {
		if s[j] < '0' || s[j] > '9' {
			return 0, bad
		}
		v[i] = int(s[j] - '0')
	}
	hh, mm := v[0]*10+v[1], v[2]*10+v[3]
	if hh > 23 || mm > 59 {
		return 0, bad
	}
	return hh*60 + mm, nil
}

// parseWeekday reads a day's English name or its first three letters, in
// any case, as time.Weekday's number.
func parseWeekday(s string) (int, error) {
	l := strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if l == name || l == name[:3] {
			return int(d), nil
		}
	}
	return 0, fmt.Errorf("day %q: want Mon, Tue, Wed, Thu, Fri, Sat or Sun (or the whole name)", s)
}

// At returns the rate in force at t in bytes per second (0: no limit) and
// the time the schedule next changes it, in t's location; until is zero
// when the rate never changes. Around a change of the clock (summer time)
// until may come early; asking again then gives the right rate.
func (s Schedule) At(t time.Time) (rate int64, until time.Time) {
	if len(s.slots) == 0 {
		return 0, time.Time{}
	}
	i := s.slotAt(int(t.Weekday())*minutesPerDay + t.Hour()*60 + t.Minute())
	rate = s.slots[i].rate
	for k := 1; k < len(s.slots); k++ {
		next := s.slots[(i+k)%len(s.slots)]
		if next.rate != rate {
			return rate, nextTime(t, next.at)
		}
	}
	return rate, time.Time{}
}

// nextTime is the first time after t that falls on minute `at` of the week.
// When the wall clock is ambiguous there (summer time ends), time.Date may
// give a time not after t: then the next minute, when At is asked again.
func nextTime(t time.Time, at int) time.Time {
	day, minute := at/minutesPerDay, at%minutesPerDay
	days := (day - int(t.Weekday()) + 7) % 7
	if days == 0 && minute <= t.Hour()*60+t.Minute() {
		days = 7
	}
	u := time.Date(t.Year(), t.Month(), t.Day()+days, minute/60, minute%60, 0, 0, t.Location())
	if !u.After(t) {
		u = t.Truncate(time.Minute).Add(time.Minute)
	}
	return u
}

// Limited reports whether the schedule ever limits.
func (s Schedule) Limited() bool {
	return slices.ContainsFunc(s.slots, func(sl slot) bool { return sl.rate > 0 })
}

// Equal reports whether s and o limit alike at every minute of the week,
// however they were written.
func (s Schedule) Equal(o Schedule) bool {
	for _, sl := range slices.Concat(s.slots, o.slots, []slot{{at: 0}}) {
		if s.rateAt(sl.at) != o.rateAt(sl.at) {
			return false
		}
	}
	return true
}

// rateAt is the rate in force at minute m of the week.
func (s Schedule) rateAt(m int) int64 {
	if len(s.slots) == 0 {
		return 0
	}
	return s.slots[s.slotAt(m)].rate
}

// slotAt is the index of the slot in force at minute m of the week: the
// last at or before m, or the week's last (wrapping around) when m comes
// before every slot. s has a slot.
func (s Schedule) slotAt(m int) int {
	i, found := slices.BinarySearchFunc(s.slots, m, func(sl slot, m int) int { return sl.at - m })
	if !found {
		i--
	}
	if i < 0 {
		i = len(s.slots) - 1
	}
	return i
}

// String is the limit as written, its entries separated by single spaces;
// "off" for the zero Schedule.
func (s Schedule) String() string {
	if s.text == "" {
		return "off"
	}
	return s.text
}
