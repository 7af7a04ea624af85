package convergence

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	seedFlag      = flag.Uint64("seed", 0, "replay the one history of this seed (as a divergence report prints it); also $TILESYNCD_CONVERGENCE_SEED")
	seedBaseFlag  = flag.Uint64("seedbase", 0, "run the histories of seeds base, base+1, …; default: from the clock")
	historiesFlag = flag.Int("histories", 0, "how many histories to run; default 200, 10,000 with TILESYNCD_CHAOS=full; also $TILESYNCD_CONVERGENCE_HISTORIES")
)

// full reports whether the full counts run (make chaos) rather than the CI ones.
func full() bool { return os.Getenv("TILESYNCD_CHAOS") == "full" }

// pick returns the full count or the CI one.
func pick[T any](fullValue, ci T) T {
	if full() {
		return fullValue
	}
	return ci
}

// envUint reads a number from the environment (0 when unset).
func envUint(t *testing.T, name string) uint64 {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// TestConvergence generates histories of file changes and faults, plays
// each on a real daemon, and checks the guarantee after each (see doc.go).
func TestConvergence(t *testing.T) {
	if m := mtsMode(); m != "" && m != "only" && m != "never" {
		t.Fatalf("-mts=%q ($TILESYNCD_CONVERGENCE_MTS): want \"\", \"only\" or \"never\"", m)
	}
	seeds := []uint64{}
	base := *seedBaseFlag
	if one := max(*seedFlag, envUint(t, "TILESYNCD_CONVERGENCE_SEED")); one != 0 {
		seeds, base = append(seeds, one), one
	} else {
		n := *historiesFlag
		if n == 0 {
			n = int(envUint(t, "TILESYNCD_CONVERGENCE_HISTORIES"))
		}
		if n == 0 {
			n = pick(10000, 200)
		}
		if base == 0 {
			base = uint64(time.Now().UnixNano()) % 1_000_000_000 * 1000
		}
		for i := range n {
			seeds = append(seeds, base+uint64(i))
		}
	}
	var ran, diverged, needless, withMTS, publishes atomic.Int64
	var mu sync.Mutex
	var found []string
	start := time.Now()
	t.Run("histories", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				h := generate(seed)
				v := play(t, h)
				ran.Add(1)
				needless.Add(int64(len(v.needless)))
				publishes.Add(int64(len(v.publishes)))
				if h.mts != nil {
					withMTS.Add(1)
				}
				if !v.ok() {
					if len(v.problems) > 0 {
						diverged.Add(1)
					}
					mu.Lock()
					found = append(found, fmt.Sprintf("seed %d: %s", seed, firstOf(v)))
					mu.Unlock()
				}
			})
		}
	})
	took := time.Since(start)
	sort.Strings(found)
	for _, f := range found {
		t.Log(f)
	}
	line := fmt.Sprintf("convergence: %d histories, %d divergences, %d needless creates, seed base %d; %d with MTS, %d needless publishes",
		ran.Load(), diverged.Load(), needless.Load(), base, withMTS.Load(), publishes.Load())
	fmt.Println(line)

	t.Logf("%s (%v, %.0f histories a minute)", line, took.Round(time.Second), float64(ran.Load())/took.Minutes())
}

// play runs one history and fails t with the report if it diverged.
func play(t *testing.T, h *history) verdict {
	t.Logf("seed %d", h.seed)
	w := newWorld(t, h)
	r := newRunner(w, h)
	r.run()
	v := r.finish()
	if !v.ok() {
		t.Errorf("%s", v.report)
	} else if testing.Verbose() {
		t.Logf("converged:\n%s", h)
	}
	return v
}
