package convergence

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// --- the generator -----------------------------------------------------------

// slotModel is the generator's view of one file.
type slotModel struct {
	kind    kind
	created bool
	present bool
	at      loc
	cur     content
	seen    []content // every content written, for reverts
	next    int       // the next new version
	appends int
}

type generator struct {
	rng   *rand.Rand
	h     *history
	slots []slotModel
	stems []string
	// Lasting faults and a stopped daemon end after a few steps: the
	// ending op → steps left.
	pending map[op]int
	running bool
}

// ends maps a lasting fault to the step that ends it.
var ends = map[op]op{opAPIDown: opAPIUp, opS3Down: opS3Up, opSlowAPI: opFastAPI, opKill: opStart}

// generate makes the history of seed.
func generate(seed uint64) *history {
	rng := rand.New(rand.NewPCG(seed, 0x636f6e7665726765))
	h := &history{seed: seed, mode: "notify"}
	h.binary = rng.IntN(10) == 0
	h.lateStart = rng.IntN(6) == 0
	switch rng.IntN(6) {
	case 0:
		h.offset = 10 * time.Minute
	case 1:
		h.offset = -10 * time.Minute
	}
	h.processing = time.Duration(100+rng.IntN(400)) * time.Millisecond
	if rng.IntN(5) == 0 {
		h.mode = "poll"
	}
	g := &generator{rng: rng, h: h, pending: map[op]int{}, running: !h.lateStart}
	g.stems = []string{"p", "q", "r"}[:1+rng.IntN(3)]
	for range 2 + rng.IntN(3) {
		k := geojson
		if rng.IntN(4) == 0 {
			k = shapefile
		}
		h.kinds = append(h.kinds, k)
		g.slots = append(g.slots, slotModel{kind: k, next: 1})
	}
	if h.lateStart {
		g.pending[opStart] = 1 + rng.IntN(3)
	}
	n := 6 + rng.IntN(10)
	g.add(g.create(0))
	for len(h.steps) < n {
		for _, o := range slices.Sorted(maps.Keys(g.pending)) { // a fixed order: the seed decides all
			if left := g.pending[o]; left > 0 {
				g.pending[o] = left - 1
				continue
			}
			delete(g.pending, o)
			g.add(step{op: o})
			if o == opStart {
				g.running = true
			}
		}
		if rng.IntN(10) < 6 {
			if s, ok := g.fileAction(); ok {
				g.add(s)
			}
		} else if s, ok := g.fault(); ok {
			g.add(s)
		}
	}
	h.tail = g.wait()
	addMTS(h) // from a stream of its own: the Uploads API part stays as it was
	return h
}

func (g *generator) add(s step) {
	s.wait = g.wait()
	g.h.steps = append(g.h.steps, s)
}

// wait is the pause before a step (pause).
func (g *generator) wait() time.Duration { return pause(g.rng) }

// pause is a random wait before a step: sometimes before the settle time
// ends, sometimes while Mapbox processes, sometimes long enough for work
// to end.
func pause(rng *rand.Rand) time.Duration {
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Millisecond }
	switch r := rng.IntN(100); {
	case r < 8:
		return 0
	case r < 35:
		return ms(1, int(settle/time.Millisecond)/2)
	case r < 60:
		return ms(int(settle/time.Millisecond), 2*int(settle/time.Millisecond))
	case r < 85:
		return ms(300, 700)
	default:
		return ms(700, 1500)
	}
}

// free reports whether a file of slot may go at l.
func (g *generator) free(slot int, l loc) bool {
	for i, s := range g.slots {
		if i != slot && s.present && s.at.watch == l.watch && s.at.dir == l.dir && s.at.stem == l.stem && s.at.ext == l.ext {
			return false
		}
	}
	return true
}

// place picks a free place for slot, changing what change says of base.
func (g *generator) place(slot int, base loc, change func(*loc)) (loc, bool) {
	for range 20 {
		l := base
		change(&l)
		if l != base && g.free(slot, l) {
			return l, true
		}
	}
	return loc{}, false
}

func (g *generator) randomDir() string { return []string{"", "", "sub", "own"}[g.rng.IntN(4)] }

func (g *generator) randomExt(slot int) string {
	if g.slots[slot].kind == shapefile {
		return ".shp"
	}
	if g.rng.IntN(4) == 0 {
		return ".json"
	}
	return ".geojson"
}

// newContent is a version the slot never had.
func (g *generator) newContent(slot int) content {
	s := &g.slots[slot]
	v := s.next
	s.next++
	return content{v: [3]int{v, v, v}}
}

func (g *generator) wrote(slot int, c content) {
	s := &g.slots[slot]
	s.cur = c
	s.seen = append(s.seen, c)
}

func (g *generator) writeMode(slot int) (writeMode, int, time.Duration) {
	if g.slots[slot].kind == shapefile {
		return writeParts, 0, time.Duration(g.rng.IntN(2*int(settle/time.Millisecond))) * time.Millisecond
	}
	return fileWriteMode(g.rng)
}

// fileWriteMode picks how a one-part file is written: whole, atomically
// or as a slow copy (its chunks and their gap).
func fileWriteMode(rng *rand.Rand) (writeMode, int, time.Duration) {
	switch rng.IntN(6) {
	case 0:
		return writeAtomic, 0, 0
	case 1:
		return writeSlow, 2 + rng.IntN(3), time.Duration(20+rng.IntN(2*int(settle/time.Millisecond))) * time.Millisecond
	}
	return writeWhole, 0, 0
}

func (g *generator) create(slot int) step {
	s := &g.slots[slot]
	at, ok := loc{}, false
	for !ok {
		at = loc{watch: g.rng.IntN(len(watchNames)), dir: g.randomDir(), stem: g.stems[g.rng.IntN(len(g.stems))], ext: g.randomExt(slot)}
		ok = g.free(slot, at)
	}
	c := g.newContent(slot)
	mode, chunks, gap := g.writeMode(slot)
	s.created, s.present, s.at = true, true, at
	g.wrote(slot, c)
	return step{op: opCreate, slot: slot, to: at, content: c, mode: mode, chunks: chunks, gap: gap, note: "create"}
}

// fileAction picks an action on a file that makes sense now.
// It is long because it is one case per file action.
func (g *generator) fileAction() (step, bool) {
	slot := g.rng.IntN(len(g.slots))
	s := &g.slots[slot]
	switch {
	case !s.created:
		return g.create(slot), true
	case !s.present:
		if g.rng.IntN(2) == 0 {
			return step{}, false
		}
		// Re-create: where it was (else elsewhere), old or new bytes.
		at := s.at
		if !g.free(slot, at) {
			var ok bool
			if at, ok = g.place(slot, at, func(l *loc) { l.dir = g.randomDir() }); !ok {
				return step{}, false
			}
		}
		c := s.cur
		if g.rng.IntN(2) == 0 {
			c = g.newContent(slot)
		}
		mode, chunks, gap := g.writeMode(slot)
		s.present, s.at = true, at
		g.wrote(slot, c)
		return step{op: opCreate, slot: slot, to: at, content: c, mode: mode, chunks: chunks, gap: gap, note: "re-create"}, true
	}
	from := s.at
	switch r := g.rng.IntN(100); {
	case r < 30: // edit
		c := g.newContent(slot)
		mode, chunks, gap := g.writeMode(slot)
		g.wrote(slot, c)
		return step{op: opWrite, slot: slot, from: from, content: c, mode: mode, chunks: chunks, gap: gap, note: "edit"}, true
	case r < 45: // revert
		var earlier []content
		for _, c := range s.seen {
			if c != s.cur {
				earlier = append(earlier, c)
			}
		}
		if len(earlier) == 0 {
			return step{}, false
		}
		c := earlier[g.rng.IntN(len(earlier))]
		mode, chunks, gap := g.writeMode(slot)
		g.wrote(slot, c)
		return step{op: opWrite, slot: slot, from: from, content: c, mode: mode, chunks: chunks, gap: gap, note: "revert to " + c.label(s.kind)}, true
	case r < 55: // append
		if s.kind != geojson {
			return step{}, false
		}
		c := s.cur
		c.a++
		g.wrote(slot, c)
		return step{op: opAppend, slot: slot, from: from, content: c}, true
	case r < 85: // move or rename
		var to loc
		var ok bool
		note := ""
		switch g.rng.IntN(3) {
		case 0:
			to, ok = g.place(slot, from, func(l *loc) { l.dir = g.randomDir() })
			note = "move within the folder"
		case 1:
			to, ok = g.place(slot, from, func(l *loc) { l.watch = (l.watch + 1) % len(watchNames); l.dir = g.randomDir() })
			note = "move to the other folder"
		default:
			to, ok = g.place(slot, from, func(l *loc) { l.stem = g.stems[g.rng.IntN(len(g.stems))]; l.ext = g.randomExt(slot) })
			note = "rename"
		}
		if !ok {
			return step{}, false
		}
		if to.tileset() == from.tileset() {
			note += ", same tileset"
		} else {
			note += ", another tileset"
		}
		s.at = to
		gap := time.Duration(g.rng.IntN(40)) * time.Millisecond
		return step{op: opMove, slot: slot, from: from, to: to, content: s.cur, gap: gap, note: note}, true
	default:
		s.present = false
		return step{op: opDelete, slot: slot, from: from}, true
	}
}

// fault picks a fault, or a daemon event, that makes sense now.
func (g *generator) fault() (step, bool) {
	lasting := func(o op) (step, bool) {
		if _, on := g.pending[ends[o]]; on {
			return step{}, false
		}
		g.pending[ends[o]] = 1 + g.rng.IntN(4)
		return step{op: o}, true
	}
	switch r := g.rng.IntN(100); {
	case r < 15:
		return step{op: opFailCreate, status: []int{500, 503, 409}[g.rng.IntN(3)]}, true
	case r < 25:
		return step{op: opFailCreateAfter, status: 502}, true
	case r < 33:
		return step{op: opDrop, ep: mapbox.EndpointCreate, n: 1}, true
	case r < 43:
		return step{op: opDropAfter}, true
	case r < 48:
		ep := []mapbox.Endpoint{mapbox.EndpointCredentials, mapbox.EndpointList, mapbox.EndpointStatus}[g.rng.IntN(3)]
		n := 1
		if ep != mapbox.EndpointCredentials {
			n = 2 // net/http retries a dropped idempotent request once by itself
		}
		return step{op: opDrop, ep: ep, n: n}, true
	case r < 56:
		return lasting(opAPIDown)
	case r < 63:
		return lasting(opS3Down)
	case r < 69:
		return step{op: opRateLimit, gap: time.Duration(200+g.rng.IntN(1300)) * time.Millisecond}, true
	case r < 74:
		if g.h.binary { // the binary waits 30 s for an answer
			return step{}, false
		}
		return lasting(opSlowAPI)
	case r < 80:
		return step{op: opCorruptCreds, n: 1 + g.rng.IntN(2)}, true
	case r < 84:
		return step{op: opExpireCreds}, true
	default:
		if !g.running {
			return step{}, false
		}
		if g.h.binary {
			g.running = false
			return lasting(opKill)
		}
		return step{op: opRestart}, true
	}
}

// String prints the history with each step at the sum of the waits before it.
func (h *history) String() string {
	var at []time.Duration
	var sum time.Duration
	for _, s := range h.steps {
		sum += s.wait
		at = append(at, sum)
	}
	return h.format(at)
}

// format prints the history with each step at the time given (a run's
// steps begin later than their waits add up to: writing takes time).
func (h *history) format(at []time.Duration) string {
	var b strings.Builder
	daemon := "in-process"
	if h.binary {
		daemon = "the binary (SIGKILLed), then in-process for the final wait"
	}
	if h.lateStart {
		daemon += ", started late"
	}
	clock := "same clock"
	if h.offset != 0 {
		clock = fmt.Sprintf("Mapbox's clock %+v off the daemon's", h.offset)
	}
	fmt.Fprintf(&b, "daemon: %s; %s; processing %v; watch mode %s; %d files\n", daemon, clock, h.processing, h.mode, h.uploadFiles())
	if h.mts != nil {
		fmt.Fprintf(&b, "  %s\n", h.mts)
	}
	var nu, nm int // the Uploads API's steps are numbered as in a history without MTS, the MTS ones m0, m1…
	for i, s := range h.steps {
		when := "(not reached)"
		if i < len(at) {
			when = "+" + at[i].Round(time.Millisecond).String()
		}
		if s.mts {
			fmt.Fprintf(&b, " %3s  %-8s %s\n", fmt.Sprintf("m%d", nm), when, s.describe(h.kinds[s.slot]))
			nm++
			continue
		}
		fmt.Fprintf(&b, "  %2d  %-8s %s\n", nu, when, s.describe(h.kinds[s.slot]))
		nu++
	}
	fmt.Fprintf(&b, "  end: %v after the last step, faults cleared, the daemon running in-process, the folder quiet", h.tail.Round(time.Millisecond))
	return b.String()
}
