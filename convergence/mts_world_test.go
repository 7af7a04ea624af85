package convergence

import (
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"os"
	"path/filepath"
	"strings"
)

// The MTS part of a world: the rule, the recipe file, the faults, and
// the record of what the daemon uploaded to sources and changesets.

// mtsRulesYAML comes before rulesYAML in a history with MTS: the files
// under mts/ of either watch folder go to "acme.m-{stem}" through MTS.
const mtsRulesYAML = `rules:
  - match: "mts/**"
    target: mts
    tileset: "{username}.m-{stem}"
    recipe: recipe.json
    layer: "{stem}"
%s`

// mtsConfig writes the recipe file and returns what the configuration's
// mapbox section gains (publishes far above the daemon's needs) and its
// rules. An incremental history records the daemon's uploads (testkit.MTSUploads:
// a job's input names its content by its hash; the simulator keeps no feature).
func (w *world) mtsConfig() (mapboxMore, rules string) {
	p := w.h.mts
	w.writeRecipe(p.maxzoom)
	inc := ""
	if p.incremental {
		inc = "    incremental: true\n"
		w.wire = &testkit.MTSUploads{}
	}
	return "  publishes_per_minute: 600\n", strings.Replace(mtsRulesYAML, "%s", inc, 1) + strings.TrimPrefix(rulesYAML, "rules:\n")
}

// writeRecipe writes the recipe file with maxzoom.
func (w *world) writeRecipe(maxzoom int) {
	if err := os.WriteFile(filepath.Join(w.dir, "recipe.json"), []byte(w.h.mts.recipe(maxzoom)), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// fileBytes is the file of slot with content c (a GeoJSON file's; an MTS
// file's).
func (r *runner) fileBytes(slot int, c content) []byte {
	if k := r.h.kinds[slot]; k.isMTS() {
		return mtsBytes(k, slot, c)
	}
	return geoBytes(slot, c)
}

// applyMTS performs an MTS fault or event.
func (r *runner) applyMTS(s step) {
	w := r.w
	switch s.op {
	case opFailPublish, opFailSourceUpload:
		w.srv.FailNext(s.ep, 1, s.status)
	case opFailPublishAfter:
		w.srv.FailAfterNext(s.ep, 1, s.status)
	case opDropPublishAfter:
		w.srv.DropAfterNext(s.ep, 1)
	case opCutSourceUpload:
		w.srv.DropMidUpload(s.ep, 1, int64(s.n))
	case opRateLimitMTS:
		w.srv.RateLimitMTSFor(s.ep, s.gap)
	case opStallJobs, opReleaseJobs:
		w.srv.StallJobs("", s.op == opStallJobs)
	case opEditRecipe:
		// The binary's Supervise reloads by itself; the daemon in this
		// process is restarted on the new configuration, as it would.
		w.writeRecipe(s.n)
		w.loadConfig()
		if w.inproc != nil {
			w.stopInproc()
			w.startInproc()
		}
		r.changed()
	default:
		w.t.Fatalf("no such step: %s", s.describeMTS())
	}
}
