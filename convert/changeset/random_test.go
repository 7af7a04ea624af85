package changeset

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	seedFlag      = flag.Uint64("seed", 0, "replay the history of this seed (as a failure prints it); also $TILESYNCD_CHANGESET_SEED")
	historiesFlag = flag.Int("histories", 0, "how many random histories to run (default 100, 20 with -short)")
)

// TestRandomHistories publishes random histories of a feature set: each
// version a random edit of the one before (features added, changed,
// removed, reordered; now and then a duplicate id, one missing, an id
// spelt anew, blank lines), each diffed against the index of the last,
// with random sort limits so that chunks spill. An oracle of its own
// (encoding/json, math/big) says what the result must be, and applies the
// changeset to the last version: it must give the new one.
func TestRandomHistories(t *testing.T) {
	var seeds []uint64
	one := *seedFlag
	if env := os.Getenv("TILESYNCD_CHANGESET_SEED"); env != "" && one == 0 {
		var err error
		if one, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("TILESYNCD_CHANGESET_SEED=%q: %v", env, err)
		}
	}
	if one != 0 {
		seeds = append(seeds, one)
	} else {
		n := *historiesFlag
		if n == 0 {
			n = 100
			if testing.Short() {
				n = 20
			}
		}
		base := uint64(time.Now().UnixNano()) % 1_000_000_000 * 1000
		t.Logf("seeds %d to %d (replay one with -seed N)", base, base+uint64(n)-1)
		for i := range n {
			seeds = append(seeds, base+uint64(i))
		}
	}
	tally := map[string]int{}
	for _, seed := range seeds {
		if msg := playHistory(t, seed, tally); msg != "" {
			t.Errorf("seed %d: %s\nreplay: go test -run TestRandomHistories ./convert/changeset/ -seed %d", seed, msg, seed)
		}
	}
	t.Logf("outcomes: %v", tally)
	if len(seeds) >= 20 && tally["changeset"] < len(seeds) {
		t.Errorf("only %d changesets applied in %d histories: the generator lost its way", tally["changeset"], len(seeds))
	}
}

// history is one seed's feature set as it is edited.
type history struct {
	rng   *rand.Rand
	lines []string // the current version
	next  int      // for fresh ids
}

// playHistory plays one history and returns what went wrong, or "".
func playHistory(t *testing.T, seed uint64, tally map[string]int) string {
	h := &history{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	lim := limits{recs: 1 + h.rng.IntN(40), arena: 1 + h.rng.IntN(400)}
	maxShare := []float64{DefaultMaxShare, 0.5, 1}[h.rng.IntN(3)]
	dir := t.TempDir()
	idx := filepath.Join(dir, "published.idx")
	for range 1 + h.rng.IntN(60) {
		h.lines = append(h.lines, h.fresh())
	}
	var prev version // nil: no usable index
	for step := range 5 {
		if step > 0 {
			h.edit()
		}
		conv := writeLines(t, dir, fmt.Sprintf("v%d", step), h.lines)
		var out strings.Builder
		newIdx := filepath.Join(dir, "new.idx")
		res, err := diff(context.Background(), idx, conv, &out, newIdx, maxShare, lim)
		if err != nil {
			return fmt.Sprintf("version %d: %v", step, err)
		}
		cur, ok := parseVersion(h.lines)
		if msg := judge(prev, cur, ok, res, out.String(), maxShare); msg != "" {
			return fmt.Sprintf("version %d (limits %v, maxShare %v): %s", step, lim, maxShare, msg)
		}
		switch {
		case !res.Full:
			tally["changeset"]++
		case strings.Contains(res.Reason, "over the"):
			tally["full: share"]++
		case strings.Contains(res.Reason, "need a unique id") || strings.Contains(res.Reason, "was published as"):
			tally["full: ids"]++
		default:
			tally["full: index"]++
		}
		if err := os.Rename(newIdx, idx); err != nil { // published, whichever way
			return err.Error()
		}
		prev = cur
	}
	return ""
}

// judge compares Diff's result with the oracle's.
func judge(prev, cur version, ok bool, res Result, out string, maxShare float64) string {
	switch {
	case !ok:
		if !res.Full || !strings.Contains(res.Reason, "need a unique id") {
			return fmt.Sprintf("ids are not unique, yet %+v", res)
		}
		return ""
	case prev == nil:
		if !res.Full || res.Changes() != 0 {
			return fmt.Sprintf("no usable index, yet %+v", res)
		}
		return ""
	}
	want := Result{Features: len(cur)}
	respelt := ""
	for k, l := range cur {
		switch old, was := prev[k]; {
		case !was:
			want.Added++
		case old == l:
			want.Unchanged++
		default:
			want.Changed++
			if rawID(old) != rawID(l) {
				respelt = rawID(l)
			}
		}
	}
	for k := range prev {
		if _, ok := cur[k]; !ok {
			want.Removed++
		}
	}
	if respelt != "" {
		if !res.Full || !strings.Contains(res.Reason, "was published as") {
			return fmt.Sprintf("id %s spelt anew, yet %+v", respelt, res)
		}
		return ""
	}
	want.Full = maxShare < 1 && want.Share() > maxShare
	got := res
	got.Bytes, got.Reason = 0, ""
	if got != want {
		return fmt.Sprintf("got %+v (%s), want %+v", res, res.Reason, want)
	}
	if !res.Full {
		applied, err := apply(prev, out)
		if err != nil {
			return err.Error()
		}
		if msg := sameVersion(applied, cur); msg != "" {
			return "the changeset applied to the last version: " + msg
		}
	}
	return ""
}

func rawID(line string) string {
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(line), &m)
	return string(m["id"])
}

// fresh is a feature with a new id of a random kind.
func (h *history) fresh() string {
	h.next++
	n := h.next
	ids := []string{
		strconv.Itoa(n),
		fmt.Sprintf(`"s%d"`, n),
		fmt.Sprintf(`"%d"`, n), // a string of the digits of a number
		fmt.Sprintf(`"\u00e9\"q\\%d"`, n),
		fmt.Sprintf("%d.5", n),
		fmt.Sprintf("-%d", n),
		fmt.Sprintf("12345678901234567890123%d", n),
	}
	return feat(ids[h.rng.IntN(len(ids))], h.rng.IntN(1000))
}

// edit makes the next version.
func (h *history) edit() {
	r := h.rng
	var ls []string
	for _, l := range h.lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		switch r.IntN(20) {
		case 0: // removed
		case 1, 2: // changed
			ls = append(ls, feat(rawID(l), 1000+r.IntN(1000)))
		default:
			ls = append(ls, l)
		}
	}
	for range r.IntN(4) {
		ls = append(ls, h.fresh())
	}
	if r.IntN(3) == 0 {
		r.Shuffle(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
	}
	if len(ls) > 0 && r.IntN(25) == 0 {
		ls = append(ls, feat(rawID(ls[r.IntN(len(ls))]), "a duplicate"))
	}
	if r.IntN(25) == 0 {
		ls = append(ls, feat("", "no id"))
	}
	if i := r.IntN(len(ls) + 1); i < len(ls) && r.IntN(15) == 0 {
		switch id := rawID(ls[i]); {
		case id == "":
		case id[0] == '"':
			ls[i] = feat(`"\u00`+fmt.Sprintf("%x", id[1])+id[2:], "respelt")
		case !strings.ContainsAny(id, ".e"):
			ls[i] = feat(id+".0", "respelt")
		}
	}
	if r.IntN(10) == 0 {
		ls = append(ls, "  ")
	}
	h.lines = ls
}
