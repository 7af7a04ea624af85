package daemon

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// TestMTSConvergence plays seeded random histories of MTS files (edits,
// reverts, touches, deletes, a recipe edited over a restart) against
// faults (a publish answer lost, a publish answered 502 after it took
// effect, 429 windows on publish, source uploads refused, restarts), then
// checks the MTS guarantee from the simulator's record: once quiet, each
// MTS tileset's last successful job was built from the folder's current
// converted bytes with the current recipe, and no publish was needless (no
// two successive jobs of a tileset built the same bytes with the same
// recipe). Each history prints its seed; replay one with
// TILESYNCD_MTS_SEED=N, run more with TILESYNCD_MTS_HISTORIES=N.
func TestMTSConvergence(t *testing.T) {
	seeds := []uint64{}
	if s, err := strconv.ParseUint(os.Getenv("TILESYNCD_MTS_SEED"), 10, 64); err == nil {
		seeds = append(seeds, s)
	} else {
		n := 3
		if testing.Short() {
			n = 1
		}
		if v, err := strconv.Atoi(os.Getenv("TILESYNCD_MTS_HISTORIES")); err == nil && v > 0 {
			n = v
		}
		base := uint64(time.Now().UnixNano() % 1_000_000)
		for i := range n {
			seeds = append(seeds, base+uint64(i))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Logf("seed %d (replay: TILESYNCD_MTS_SEED=%d go test ./daemon/ -run 'TestMTSConvergence$')", seed, seed)
			playMTS(t, seed)
		})
	}
}

// mtsHistory is one history being played: the env, its daemon, and what
// each file held.
type mtsHistory struct {
	e        *env
	rng      *rand.Rand
	d        *Daemon
	stop     func()
	versions [][]string // what each file held, in order
	maxzoom  int
}

const mtsSlots = 3

// playMTS plays the history of seed and checks the guarantee.
func playMTS(t *testing.T, seed uint64) {
	h := &mtsHistory{e: newMTSEnv(t, mtsOptions{}), rng: rand.New(rand.NewPCG(seed, 0x6d7473)),
		versions: make([][]string, mtsSlots), maxzoom: 10}
	for i := range mtsSlots {
		h.write(i, mtsVariant(i, 0))
	}
	h.d, h.stop = h.e.start()
	var steps []string
	for n := 4 + h.rng.IntN(7); n > 0; n-- {
		if step := h.step(); step != "" {
			steps = append(steps, step)
		}
		time.Sleep(time.Duration(h.rng.IntN(600)) * time.Millisecond) // a random pause between steps is the history
	}
	t.Logf("history: %s", strings.Join(steps, "; "))
	h.e.Srv.ClearFaults()
	h.e.Srv.RateLimitMTSFor("", 0)
	h.check(t)
}

func (h *mtsHistory) write(i int, text string) {
	h.e.Write(fmt.Sprintf("mts/f%d.geojson", i), text)
	h.versions[i] = append(h.versions[i], text)
}

// step takes one random step and says what it was ("" for none).
func (h *mtsHistory) step() string {
	i := h.rng.IntN(mtsSlots)
	rel := fmt.Sprintf("mts/f%d.geojson", i)
	srv := h.e.Srv
	switch h.rng.IntN(10) {
	case 0, 1, 2:
		h.write(i, mtsVariant(i, 1+h.rng.IntN(1000)))
		return "edit " + rel
	case 3:
		h.write(i, h.versions[i][h.rng.IntN(len(h.versions[i]))])
		return "revert " + rel
	case 4:
		if os.Remove(filepath.Join(h.e.Drop, filepath.FromSlash(rel))) == nil {
			return "delete " + rel
		}
	case 5:
		srv.DropAfterNext(mapbox.EndpointPublish, 1)
		return "lose the next publish's answer"
	case 6:
		srv.FailAfterNext(mapbox.EndpointPublish, 1, http.StatusBadGateway)
		return "answer the next publish 502 after it took effect"
	case 7:
		srv.RateLimitMTSFor(mapbox.EndpointPublish, time.Duration(500+h.rng.IntN(1500))*time.Millisecond)
		return "429 on publish for a while"
	case 8:
		srv.FailNext(mapbox.EndpointSourceReplace, 1, http.StatusServiceUnavailable)
		return "refuse the next source upload (503)"
	case 9:
		h.stop()
		what := "restart"
		if h.rng.IntN(2) == 0 {
			h.maxzoom++
			h.e.writeRecipe(h.maxzoom)
			what = fmt.Sprintf("restart with the recipe's maxzoom %d", h.maxzoom)
		}
		h.d, h.stop = h.e.start()
		return what
	}
	return ""
}

// check waits for the guarantee to hold (60 s at most) and checks that no
// publish was needless.
func (h *mtsHistory) check(t *testing.T) {
	e := h.e
	files := map[string]string{}
	for i := range mtsSlots {
		rel := fmt.Sprintf("mts/f%d.geojson", i)
		if _, err := os.Stat(filepath.Join(e.Drop, filepath.FromSlash(rel))); err == nil {
			files[rel] = fmt.Sprintf("acme.m-f%d", i)
		}
	}
	wantZoom := fmt.Sprintf(`"maxzoom":%d`, h.maxzoom)
	want := map[string]string{}
	for rel, ts := range files {
		want[ts] = e.converted(rel)
	}
	quiet := func() bool {
		for ts, sha := range want {
			if j, ok := e.Srv.HoldsMTS(ts); !ok || j.SHA256 != sha || !strings.Contains(string(j.Recipe), wantZoom) {
				return false
			}
		}
		idle, err := h.d.Syncer().Idle()
		return err == nil && idle
	}
	deadline := time.Now().Add(60 * time.Second)
	for !quiet() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the simulator's record for the guarantee, with a deadline
	}
	if !quiet() {
		for rel, ts := range files {
			j, _ := e.Srv.HoldsMTS(ts)
			t.Errorf("%s: %s holds job %s built from %.12s with recipe %s; want %.12s and %s", rel, ts, j.ID, j.SHA256, j.Recipe, want[ts], wantZoom)
		}
	}
	for i := range mtsSlots {
		ts := fmt.Sprintf("acme.m-f%d", i)
		hist := e.Srv.MTSHistory(ts)
		for k := 1; k < len(hist); k++ {
			if hist[k].SHA256 == hist[k-1].SHA256 && string(hist[k].Recipe) == string(hist[k-1].Recipe) {
				t.Errorf("%s: needless publish: job %s built what job %s had built (%.12s)", ts, hist[k].ID, hist[k-1].ID, hist[k].SHA256)
			}
		}
	}
}

// mtsVariant is version v of file i: a FeatureCollection of a point or two.
func mtsVariant(i, v int) string {
	return fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","id":%d,"geometry":{"type":"Point","coordinates":[%d.%03d,52.5]},"properties":{"v":%d}}]}`,
		i, 10+i, v, v)
}
