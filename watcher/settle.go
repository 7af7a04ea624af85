package watcher

import (
	"container/heap"
	"path"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/format"
)

// stat is what the watcher compares to tell whether a file changed.
type stat struct {
	size  int64
	mtime int64 // Unix nanoseconds
}

// settler decides when a changing file has settled. It holds no clock and does
// no I/O: every method takes the current time, so its tests need no sleeping
// (STYLE habit 4).
//
// A file is due when its size and modification time have not changed for
// settle since the last observed change, or when maxSettle has passed since it
// was first observed (overdue: it keeps changing and is reported anyway), or
// when a retry it asked for is due. The caller re-checks a due file on disk and
// resolves it with exactly one of Done, Observe, Retry or Forget.
//
// The parts of a shapefile settle as a set (settleGroup): a part whose own
// settle time has passed is held while another part of its set is pending
// and has not (or waits for a retry), so a set copied one part after another
// is reported only once every part has been unchanged for settle, never as a
// mix of old and new parts. A part held until maxSettle since it was first
// observed is reported anyway, overdue, like a file that keeps changing.
type settler struct {
	settle, maxSettle time.Duration
	byRel             map[string]*pending
	queue             pendingHeap
	initial           int                   // entries with initial set
	groups            map[string][]*pending // pending parts of each set, by settleGroup
}

type pending struct {
	rel       string
	st        stat
	first     time.Time // first observation
	changed   time.Time // last observed change
	retryAt   time.Time // non-zero: could not be opened, check again then
	retries   uint8
	initial   bool      // found by the startup scan
	group     string    // settleGroup(rel); "" for a file that settles alone
	holdUntil time.Time // settled, but held until then for its set
	dl        time.Time // deadline, as of the last schedule
	index     int       // in queue; -1 while out of it (due, awaiting resolution)
}

// due is a file whose deadline has passed.
type due struct {
	rel     string
	st      stat      // as last observed
	first   time.Time // when it was first observed
	initial bool
	overdue bool // not settled, but maxSettle has passed since first: report anyway
	// held: overdue because other parts of its set kept changing, not itself.
	held bool
}

func newSettler(settle, maxSettle time.Duration) *settler {
	return &settler{settle: settle, maxSettle: maxSettle, byRel: make(map[string]*pending), groups: make(map[string][]*pending)}
}

// settleGroup returns the set a file settles with: for the parts of a
// shapefile (format.ShapefileSidecar) and its .shp, the .shp's path, lower
// case; "" for any other file.
func settleGroup(rel string) string {
	dir, name := splitRel(rel)
	if shp, ok := format.ShapefileSidecar(name); ok {
		name = shp
	} else if !strings.EqualFold(path.Ext(name), ".shp") {
		return ""
	}
	return joinRel(dir, strings.ToLower(name))
}

func (p *pending) deadline(settle, maxSettle time.Duration) time.Time {
	if !p.retryAt.IsZero() {
		return p.retryAt
	}
	d := p.changed.Add(settle)
	if p.holdUntil.After(d) {
		d = p.holdUntil
	}
	if m := p.first.Add(maxSettle); m.Before(d) {
		return m
	}
	return d
}

// Observe records that rel has st at now. A new file, a changed st, or touched
// (a notification said the file was written, whatever st shows) restarts the
// settle time; an unchanged st does not. initial marks a file found by the
// startup scan. Observe reports whether rel was new to the settler.
func (s *settler) Observe(rel string, st stat, now time.Time, touched, initial bool) bool {
	p, ok := s.byRel[rel]
	if !ok {
		p = &pending{rel: rel, st: st, first: now, changed: now, index: -1, group: settleGroup(rel)}
		s.byRel[rel] = p
		if p.group != "" {
			s.groups[p.group] = append(s.groups[p.group], p)
		}
	} else if touched || p.st != st {
		p.st = st
		p.changed = now
		p.retryAt, p.retries = time.Time{}, 0
	}
	if initial && !p.initial {
		p.initial = true
		s.initial++
	}
	s.schedule(p)
	return !ok
}

// Retry schedules another check of a due rel that could not be opened, after a
// delay that doubles from settle up to 5 minutes. It returns the number of
// failed attempts so far.
func (s *settler) Retry(rel string, now time.Time) int {
	p, ok := s.byRel[rel]
	if !ok {
		return 0
	}
	if p.retries < 255 {
		p.retries++
	}
	delay := s.settle << min(p.retries-1, 10)
	if limit := max(5*time.Minute, s.settle); delay > limit || delay <= 0 {
		delay = limit
	}
	p.retryAt = now.Add(delay)
	s.schedule(p)
	return int(p.retries)
}

// Done forgets rel after it was reported; Forget after it disappeared.
func (s *settler) Done(rel string) { s.Forget(rel) }

// Forget drops rel, if pending.
func (s *settler) Forget(rel string) {
	p, ok := s.byRel[rel]
	if !ok {
		return
	}
	if p.index >= 0 {
		heap.Remove(&s.queue, p.index)
	}
	if p.initial {
		s.initial--
	}
	if p.group != "" {
		g := s.groups[p.group]
		for i, q := range g {
			if q == p {
				g[i] = g[len(g)-1]
				g[len(g)-1] = nil
				g = g[:len(g)-1]
				break
			}
		}
		if len(g) == 0 {
			delete(s.groups, p.group)
		} else {
			s.groups[p.group] = g
		}
	}
	delete(s.byRel, rel)
}

// Due takes out every file whose deadline is at or before now, except the
// parts of a shapefile held for their set (they are scheduled again). Each
// file returned must then be resolved with Done, Observe, Retry or Forget.
func (s *settler) Due(now time.Time) []due {
	var out []due
	for len(s.queue) > 0 {
		p := s.queue[0]
		if p.dl.After(now) {
			break
		}
		heap.Pop(&s.queue)
		unsettled := p.changed.Add(s.settle).After(now)
		maxed := !p.first.Add(s.maxSettle).After(now)
		p.holdUntil = time.Time{}
		var held bool
		if !unsettled && p.group != "" {
			if until, busy := s.setBusy(p, now); busy {
				if !maxed {
					p.holdUntil = until
					s.schedule(p)
					continue
				}
				held = true
			}
		}
		out = append(out, due{
			rel: p.rel, st: p.st, first: p.first, initial: p.initial,
			overdue: maxed && (unsettled || held), held: held,
		})
	}
	return out
}

// setBusy reports whether another part of p's set is still settling at now
// (changed less than settle ago, or waiting for a retry), and until when.
func (s *settler) setBusy(p *pending, now time.Time) (until time.Time, busy bool) {
	for _, q := range s.groups[p.group] {
		if q == p {
			continue
		}
		t := q.changed.Add(s.settle)
		if !q.retryAt.IsZero() && q.retryAt.After(t) {
			t = q.retryAt
		}
		if t.After(now) {
			busy = true
			if t.After(until) {
				until = t
			}
		}
	}
	return until, busy
}

// NextDeadline returns the earliest deadline, if any file is pending.
func (s *settler) NextDeadline() (time.Time, bool) {
	if len(s.queue) == 0 {
		return time.Time{}, false
	}
	return s.queue[0].dl, true
}

// Len is the number of pending files.
func (s *settler) Len() int { return len(s.byRel) }

// InitialLeft is the number of pending files found by the startup scan.
func (s *settler) InitialLeft() int { return s.initial }

// Pending reports whether rel is waiting to settle.
func (s *settler) Pending(rel string) bool { _, ok := s.byRel[rel]; return ok }

func (s *settler) schedule(p *pending) {
	p.dl = p.deadline(s.settle, s.maxSettle)
	if p.index >= 0 {
		heap.Fix(&s.queue, p.index)
		return
	}
	heap.Push(&s.queue, p)
}

// pendingHeap orders pending files by deadline.
type pendingHeap []*pending

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return h[i].dl.Before(h[j].dl) }
func (h pendingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *pendingHeap) Push(x any) {
	p := x.(*pending)
	p.index = len(*h)
	*h = append(*h, p)
}
func (h *pendingHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	p.index = -1
	*h = old[:len(old)-1]
	return p
}
