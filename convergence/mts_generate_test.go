package convergence

import (
	"math/rand/v2"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// mtsStream is the PCG stream of the MTS part's random choices, apart
// from the history's own: adding it changes nothing of the rest.
const mtsStream = 0x6d74732d70617274

// mtsGen makes the MTS part of a history.
type mtsGen struct {
	rng     *rand.Rand
	plan    *mtsPlan
	slots   []slotModel // slot i is the history's slot plan.first+i
	stems   []string
	stalled int // MTS steps left before the stalled jobs are released; 0: none stalled
	maxzoom int
	binary  bool // the binary runs: no recipe edit (it reloads on its own time)
}

// addMTS gives one history in three (or every one, or none, as -mts
// says) an MTS rule, files and steps, drawn from a stream of their own
// and merged into the history by time: the Uploads API part keeps its
// steps, their times and its end.
func addMTS(h *history) {
	rng := rand.New(rand.NewPCG(h.seed, mtsStream))
	on := rng.IntN(3) == 0
	switch mtsMode() {
	case "only":
		on = true
	case "never":
		on = false
	}
	if !on {
		return
	}
	p := &mtsPlan{first: len(h.kinds), maxzoom: 8 + rng.IntN(4)}
	// The incremental oracle reads the changesets off the daemon's HTTP
	// transport, which the binary's is not.
	p.incremental = rng.IntN(2) == 0 && !h.binary
	p.queue = time.Duration(20+rng.IntN(280)) * time.Millisecond
	p.processing = time.Duration(150+rng.IntN(1350)) * time.Millisecond
	p.lockQueued = rng.IntN(4) == 0
	h.mts = p
	g := &mtsGen{rng: rng, plan: p, maxzoom: p.maxzoom, binary: h.binary}
	g.stems = []string{"k", "l"}[:1+rng.IntN(2)]
	for range 1 + rng.IntN(2) {
		k := mtsGeoJSON
		if rng.IntN(5) == 0 {
			k = mtsCSV
		}
		h.kinds = append(h.kinds, k)
		g.slots = append(g.slots, slotModel{kind: k, next: 1})
	}
	var end time.Duration
	for _, s := range h.steps {
		end += s.wait
	}
	end += h.tail
	var steps []step
	var at []time.Duration
	t := min(pause(rng), end/2)
	next := g.create(0)
	for t < end {
		next.mts = true
		steps, at = append(steps, next), append(at, t)
		next = g.step()
		t += pause(rng)
	}
	merge(h, steps, at, end)
}

// merge puts the steps ms, each at its time in at, among h's steps, so
// that every step keeps its time and the history still ends at end.
func merge(h *history, ms []step, at []time.Duration, end time.Duration) {
	var out []step
	var t, last time.Duration
	i := 0
	put := func(s step, when time.Duration) {
		s.wait, last = when-last, when
		out = append(out, s)
	}
	for _, s := range h.steps {
		t += s.wait
		for ; i < len(ms) && at[i] < t; i++ {
			put(ms[i], at[i])
		}
		put(s, t)
	}
	for ; i < len(ms); i++ {
		put(ms[i], at[i])
	}
	h.steps, h.tail = out, end-last
}

// step is the next MTS step: a file action or a fault, or the end of a
// stall. A step that makes no sense now is a no-op (a zero step is
// replaced by another draw).
func (g *mtsGen) step() step {
	if g.stalled > 0 {
		if g.stalled--; g.stalled == 0 {
			return step{op: opReleaseJobs}
		}
	}
	for {
		if g.rng.IntN(100) < 65 {
			if s, ok := g.fileAction(); ok {
				return s
			}
		} else if s, ok := g.fault(); ok {
			return s
		}
	}
}

// free reports whether MTS slot i may go at l.
func (g *mtsGen) free(i int, l loc) bool {
	for j, s := range g.slots {
		if j != i && s.present && s.at == l {
			return false
		}
	}
	return true
}

func (g *mtsGen) randomDir() string { return []string{"mts", "mts", "mts/sub"}[g.rng.IntN(3)] }

func (g *mtsGen) randomExt(i int) string {
	if g.slots[i].kind == mtsCSV {
		return ".csv"
	}
	if g.rng.IntN(4) == 0 {
		return ".json"
	}
	return ".geojson"
}

// fresh is a new content of MTS slot i: 8 to 12 features, all new.
func (g *mtsGen) fresh(i int) content {
	c := g.version(i, content{})
	for _, f := range g.rng.Perm(mtsFeatures)[:8+g.rng.IntN(mtsFeatures-7)] {
		c.feats[f] = uint16(c.v[0])
	}
	c.noIDs = g.slots[i].kind == mtsGeoJSON && g.rng.IntN(12) == 0
	return c
}

// version is c as the next version of slot i (its label).
func (g *mtsGen) version(i int, c content) content {
	s := &g.slots[i]
	c.v = [3]int{s.next, s.next, s.next}
	s.next++
	return c
}

func (g *mtsGen) wrote(i int, c content) {
	s := &g.slots[i]
	s.cur = c
	s.seen = append(s.seen, c)
}

func (g *mtsGen) create(i int) step {
	s := &g.slots[i]
	at, ok := loc{}, false
	for !ok {
		at = loc{watch: g.rng.IntN(len(watchNames)), dir: g.randomDir(), stem: g.stems[g.rng.IntN(len(g.stems))], ext: g.randomExt(i)}
		ok = g.free(i, at)
	}
	c := g.fresh(i)
	mode, chunks, gap := fileWriteMode(g.rng)
	s.created, s.present, s.at = true, true, at
	g.wrote(i, c)
	return step{op: opCreate, slot: g.plan.first + i, to: at, content: c, mode: mode, chunks: chunks, gap: gap, note: "create", mts: true}
}

// fault picks an MTS fault, or a recipe edit.
func (g *mtsGen) fault() (step, bool) {
	pub, upload := mapbox.EndpointPublish, mapbox.EndpointSourceReplace
	if g.plan.incremental && g.rng.IntN(2) == 0 {
		pub, upload = mapbox.EndpointPublishChanges, mapbox.EndpointChangesetReplace
	}
	switch r := g.rng.IntN(100); {
	case r < 16:
		return step{op: opFailPublish, ep: pub, status: []int{500, 503}[g.rng.IntN(2)]}, true
	case r < 30:
		return step{op: opFailPublishAfter, ep: pub, status: 502}, true
	case r < 46:
		return step{op: opDropPublishAfter, ep: pub}, true
	case r < 56:
		return step{op: opFailSourceUpload, ep: upload, status: 503}, true
	case r < 64:
		return step{op: opCutSourceUpload, ep: upload, n: 20 + g.rng.IntN(300)}, true
	case r < 78:
		ep := []mapbox.Endpoint{mapbox.EndpointPublish, pub, ""}[g.rng.IntN(3)]
		return step{op: opRateLimitMTS, ep: ep, gap: time.Duration(300+g.rng.IntN(1700)) * time.Millisecond}, true
	case r < 90:
		if g.stalled > 0 {
			return step{}, false
		}
		g.stalled = 1 + g.rng.IntN(3)
		return step{op: opStallJobs}, true
	default:
		if g.maxzoom >= 16 || g.binary {
			return step{}, false
		}
		g.maxzoom++
		return step{op: opEditRecipe, n: g.maxzoom}, true
	}
}

// fileAction picks an action on an MTS file that makes sense now: create,
// re-create, edit, revert, move or rename, delete (no append: a
// FeatureCollection with bytes after it is not one).
func (g *mtsGen) fileAction() (step, bool) {
	i := g.rng.IntN(len(g.slots))
	s := &g.slots[i]
	slot := g.plan.first + i
	switch {
	case !s.created:
		return g.create(i), true
	case !s.present:
		return g.recreate(i)
	}
	from := s.at
	mode, chunks, gap := fileWriteMode(g.rng)
	switch r := g.rng.IntN(100); {
	case r < 45:
		c, note := g.edit(i)
		g.wrote(i, c)
		return step{op: opWrite, slot: slot, from: from, content: c, mode: mode, chunks: chunks, gap: gap, note: note}, true
	case r < 58:
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
		g.wrote(i, c)
		return step{op: opWrite, slot: slot, from: from, content: c, mode: mode, chunks: chunks, gap: gap, note: "revert to " + c.label(s.kind)}, true
	case r < 88:
		return g.move(i)
	default:
		s.present = false
		return step{op: opDelete, slot: slot, from: from}, true
	}
}

// recreate writes MTS slot i again where it was (else in the other
// sub-folder), with its last bytes or new ones; or does nothing.
func (g *mtsGen) recreate(i int) (step, bool) {
	s := &g.slots[i]
	if g.rng.IntN(2) == 0 {
		return step{}, false
	}
	at := s.at
	if !g.free(i, at) {
		at.dir = map[string]string{"mts": "mts/sub", "mts/sub": "mts"}[at.dir]
		if !g.free(i, at) {
			return step{}, false
		}
	}
	c := s.cur
	if g.rng.IntN(2) == 0 {
		c = g.fresh(i)
	}
	mode, chunks, gap := fileWriteMode(g.rng)
	s.present, s.at = true, at
	g.wrote(i, c)
	return step{op: opCreate, slot: g.plan.first + i, to: at, content: c, mode: mode, chunks: chunks, gap: gap, note: "re-create"}, true
}

// move moves MTS slot i within its folder (mts/ ↔ mts/sub/), to the other
// watch folder (both keep the tileset), or renames it (another stem:
// another tileset, unless the pool has one stem).
func (g *mtsGen) move(i int) (step, bool) {
	s := &g.slots[i]
	from := s.at
	to, note := from, ""
	switch g.rng.IntN(3) {
	case 0:
		to.dir = map[string]string{"mts": "mts/sub", "mts/sub": "mts"}[from.dir]
		note = "move within the folder"
	case 1:
		to.watch, to.dir = (from.watch+1)%len(watchNames), g.randomDir()
		note = "move to the other folder"
	default:
		to.stem, to.ext = g.stems[g.rng.IntN(len(g.stems))], g.randomExt(i)
		note = "rename"
	}
	if to == from || !g.free(i, to) {
		return step{}, false
	}
	if to.tileset() == from.tileset() {
		note += ", same tileset"
	} else {
		note += ", another tileset"
	}
	s.at = to
	gap := time.Duration(g.rng.IntN(40)) * time.Millisecond
	return step{op: opMove, slot: g.plan.first + i, from: from, to: to, content: s.cur, gap: gap, note: note}, true
}

// edit is a new version of MTS slot i's content and what changed: one
// feature (a changeset), one added or removed, every one (a full publish),
// the ids dropped or given back (a full publish), no feature at all
// (refused), or all new.
func (g *mtsGen) edit(i int) (content, string) {
	s := &g.slots[i]
	c := g.version(i, s.cur)
	v := uint16(c.v[0])
	var present, absent []int
	for f, val := range c.feats {
		if val != 0 {
			present = append(present, f)
		} else {
			absent = append(absent, f)
		}
	}
	switch r := g.rng.IntN(100); {
	case r < 40 && len(present) > 0:
		c.feats[present[g.rng.IntN(len(present))]] = v
		return c, "edit (one feature changed)"
	case r < 52 && len(absent) > 0:
		c.feats[absent[g.rng.IntN(len(absent))]] = v
		return c, "edit (one feature added)"
	case r < 62 && len(present) > 1:
		c.feats[present[g.rng.IntN(len(present))]] = 0
		return c, "edit (one feature removed)"
	case r < 74 && len(present) > 0:
		for _, f := range present {
			c.feats[f] = v
		}
		return c, "edit (every feature changed)"
	case r < 84 && s.kind == mtsGeoJSON && len(present) > 0:
		c.noIDs = !c.noIDs
		if c.noIDs {
			return c, "edit (the ids dropped)"
		}
		return c, "edit (the ids given back)"
	case r < 91:
		c.feats = [mtsFeatures]uint16{}
		return c, "edit (no features left)"
	}
	s.next-- // fresh takes the version itself
	return g.fresh(i), "edit (all new)"
}
