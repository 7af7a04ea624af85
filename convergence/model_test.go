package convergence

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestModelTilesets: the generator's idea of where a file goes (loc.tileset,
// loc.isMTS) is what the configuration's rules say, for every place it can
// put one, in a history with an MTS rule and in one without.
func TestModelTilesets(t *testing.T) {
	for _, p := range []*mtsPlan{nil, {maxzoom: 10, incremental: true, processing: 100e6, queue: 10e6}} {
		w := newWorld(t, &history{mode: "notify", processing: 100e6, mts: p})
		dirs := []string{"", "sub", "own"}
		if p != nil {
			dirs = append(dirs, "mts", "mts/sub")
		}
		for wi, name := range watchNames {
			for _, dir := range dirs {
				for _, ext := range []string{".geojson", ".json", ".shp", ".csv"} {
					l := loc{watch: wi, dir: dir, stem: "q", ext: ext}
					got, ok := w.cfg.Target(w.watchOf(name), l.rel())
					if !ok || got.Tileset != l.tileset() || (got.MTS != nil) != l.isMTS() {
						t.Errorf("%s: the rules say %q (%v, MTS %v), the model %q (MTS %v)", l, got.Tileset, ok, got.MTS != nil, l.tileset(), l.isMTS())
					}
				}
			}
		}
	}
}

// TestGenerateIsPure: a seed always gives the same history, so a report's
// seed replays it.
func TestGenerateIsPure(t *testing.T) {
	for seed := uint64(1); seed < 200; seed++ {
		a, b := generate(seed), generate(seed)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two different histories:\n%s\n%s", seed, a, b)
		}
	}
}

// TestConflictRuleIsTheREADMEs: the oracle applies the README's rule for
// two files that map to one tileset (runner.winners); if the README
// changes the rule, the oracle must change with it.
func TestConflictRuleIsTheREADMEs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(readme)), " ")
	const rule = "the tileset holds the content of the file that changed last, and the other is recorded as `superseded` and not sent again until it changes. When the file whose content the tileset holds is removed, or changes into one Mapbox cannot take (refused: empty, too large, an MTS file with no features left), its job not yet sent is cancelled and the others are read again and one of them is sent."
	const tie = "Two changes within one tick of the file system's clock (4 ms on ext4) tie, and a tie keeps the content the tileset holds or is about to hold" // within conflictMargin: either order
	for _, r := range []string{rule, tie} {
		if !strings.Contains(text, r) {
			t.Errorf("README.md no longer says %q of conflicts: make the oracle (runner.winners) apply its new rule", r)
		}
	}
}
