package watcher

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func dueRels(ds []due) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.rel)
	}
	return out
}

func TestSettlerReadyAfterQuiet(t *testing.T) {
	s := newSettler(5*time.Second, time.Minute)
	st := stat{size: 10, mtime: 1}
	if !s.Observe("a", st, at(0), true, false) {
		t.Fatal("Observe of a new file reported it known")
	}
	if got := s.Due(at(4 * time.Second)); len(got) != 0 {
		t.Fatalf("Due at 4s = %v, want nothing", dueRels(got))
	}
	// A change at 3s restarts the settle time.
	s.Observe("a", stat{size: 20, mtime: 2}, at(3*time.Second), false, false)
	if next, _ := s.NextDeadline(); !next.Equal(at(8 * time.Second)) {
		t.Fatalf("NextDeadline = %v, want 8s", next.Sub(t0))
	}
	// The same stat observed again (a poll) does not.
	s.Observe("a", stat{size: 20, mtime: 2}, at(6*time.Second), false, false)
	if got := s.Due(at(7 * time.Second)); len(got) != 0 {
		t.Fatalf("Due at 7s = %v, want nothing", dueRels(got))
	}
	got := s.Due(at(8 * time.Second))
	if len(got) != 1 || got[0].rel != "a" || got[0].st.size != 20 || got[0].overdue {
		t.Fatalf("Due at 8s = %+v, want a, size 20, not overdue", got)
	}
	s.Done("a")
	if s.Len() != 0 {
		t.Fatalf("Len after Done = %d, want 0", s.Len())
	}
	if _, ok := s.NextDeadline(); ok {
		t.Fatal("NextDeadline reported a deadline with nothing pending")
	}
}

func TestSettlerTouchRestarts(t *testing.T) {
	s := newSettler(time.Second, time.Minute)
	st := stat{size: 1, mtime: 1}
	s.Observe("a", st, at(0), true, false)
	// A notification with an unchanged stat (coarse mtime) still restarts it.
	s.Observe("a", st, at(900*time.Millisecond), true, false)
	if got := s.Due(at(1500 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("Due = %v, want nothing: the touch at 0.9s restarted the wait", dueRels(got))
	}
	if got := s.Due(at(1900 * time.Millisecond)); len(got) != 1 {
		t.Fatalf("Due at 1.9s = %v, want a", dueRels(got))
	}
}

func TestSettlerMaxSettle(t *testing.T) {
	s := newSettler(time.Second, 10*time.Second)
	for i := range 20 { // a change every half second for 10s
		s.Observe("log", stat{size: int64(i), mtime: int64(i)}, at(time.Duration(i)*500*time.Millisecond), false, false)
		if got := s.Due(at(time.Duration(i) * 500 * time.Millisecond)); len(got) != 0 {
			t.Fatalf("Due at step %d = %v, want nothing", i, dueRels(got))
		}
	}
	got := s.Due(at(10 * time.Second))
	if len(got) != 1 || !got[0].overdue {
		t.Fatalf("Due at 10s = %+v, want log overdue", got)
	}
}

func TestSettlerRetryBacksOff(t *testing.T) {
	s := newSettler(time.Second, time.Hour)
	s.Observe("locked", stat{1, 1}, at(0), true, false)
	now := at(time.Second)
	var delays []time.Duration
	for range 4 {
		got := s.Due(now)
		if len(got) != 1 || got[0].overdue {
			t.Fatalf("Due at %v = %+v, want locked, not overdue", now.Sub(t0), got)
		}
		s.Retry("locked", now)
		next, _ := s.NextDeadline()
		delays = append(delays, next.Sub(now))
		now = next
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("retry delays = %v, want %v", delays, want)
		}
	}
	// A change resets the back-off to a plain settle.
	s.Observe("locked", stat{2, 2}, now, false, false)
	if next, _ := s.NextDeadline(); next.Sub(now) != time.Second {
		t.Fatalf("after a change the deadline is %v away, want 1s", next.Sub(now))
	}
}

func TestSettlerOrderAndForget(t *testing.T) {
	s := newSettler(time.Second, time.Hour)
	for i, rel := range []string{"c", "a", "b"} {
		s.Observe(rel, stat{1, 1}, at(time.Duration(i)*100*time.Millisecond), false, i == 0)
	}
	if s.InitialLeft() != 1 {
		t.Fatalf("InitialLeft = %d, want 1", s.InitialLeft())
	}
	s.Forget("a")
	s.Forget("missing")
	got := dueRels(s.Due(at(time.Hour)))
	if len(got) != 2 || got[0] != "c" || got[1] != "b" {
		t.Fatalf("Due = %v, want [c b] in deadline order", got)
	}
	s.Done("c")
	s.Done("b")
	if s.InitialLeft() != 0 || s.Len() != 0 {
		t.Fatalf("InitialLeft, Len = %d, %d, want 0, 0", s.InitialLeft(), s.Len())
	}
}

// TestSettlerMany checks that the heap keeps 10,000 files in deadline order.
func TestSettlerMany(t *testing.T) {
	s := newSettler(time.Second, time.Hour)
	const n = 10000
	for i := range n {
		// Deadlines in a scrambled order.
		s.Observe(string(rune('a'+i%26))+string(rune(i)), stat{1, 1}, at(time.Duration((i*7919)%n)*time.Millisecond), false, false)
	}
	var last time.Time
	count := 0
	for now := at(0); count < n; now = now.Add(250 * time.Millisecond) {
		for _, d := range s.Due(now) {
			count++
			dl := d.first.Add(time.Second)
			if dl.Before(last) {
				t.Fatalf("deadline %v came after %v", dl, last)
			}
			last = dl
			s.Done(d.rel)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d, want 0", s.Len())
	}
}
