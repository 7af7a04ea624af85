package convergence

import (
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Scripted MTS histories, played and judged like generated ones: the
// paths of an incremental rule that a short random history reaches only
// now and then.

// mtsVersion is version v of an MTS file: features 1…n with values vals
// (0: none), v as its label.
func mtsVersion(v int, vals ...uint16) content {
	c := content{v: [3]int{v, v, v}}
	copy(c.feats[:], vals)
	return c
}

// scriptedMTS plays a history of one MTS file under an incremental rule
// and fails t unless it converged.
func scriptedMTS(t *testing.T, steps ...step) {
	t.Helper()
	for i := range steps {
		steps[i].mts = true
	}
	h := &history{seed: 0, mode: "notify", processing: 200 * time.Millisecond, kinds: []kind{mtsGeoJSON}, steps: steps, tail: 2 * time.Second,
		mts: &mtsPlan{incremental: true, maxzoom: 10, queue: 50 * time.Millisecond, processing: 300 * time.Millisecond}}
	if v := play(t, h); !v.ok() {
		t.Logf("the guarantee does not hold after this scripted history")
	}
}

var atM = loc{watch: 0, dir: "mts", stem: "k", ext: ".geojson"} // a/mts/k.geojson → acme.m-k

// TestMTSChangesetsAndFallbacks: a full publish, then changesets (one
// feature of ten changed; one added, its publish answer lost), the ids
// dropped (a full publish), a revert to the version with ids (a full
// publish: no index of the content without ids), a changeset again, and a
// file with no feature left (refused: the tileset keeps what it held).
func TestMTSChangesetsAndFallbacks(t *testing.T) {
	v1 := mtsVersion(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	v2 := mtsVersion(2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1)
	v3 := mtsVersion(3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 3)
	v4 := v3
	v4.v, v4.noIDs = [3]int{4, 4, 4}, true
	v5 := mtsVersion(5, 1, 2, 1, 1, 1, 1, 1, 5, 1, 1, 3)
	scriptedMTS(t,
		step{op: opCreate, to: atM, content: v1, note: "create"},
		step{wait: wait(1500), op: opWrite, from: atM, content: v2, note: "edit (one feature changed)"},
		step{wait: wait(1500), op: opDropPublishAfter, ep: mapbox.EndpointPublishChanges},
		step{wait: 0, op: opWrite, from: atM, content: v3, note: "edit (one feature added)"},
		step{wait: wait(3000), op: opWrite, from: atM, content: v4, note: "edit (the ids dropped)"},
		step{wait: wait(1500), op: opWrite, from: atM, content: v3, note: "revert to v3"},
		step{wait: wait(1500), op: opWrite, from: atM, content: v5, note: "edit (one feature changed)"},
		step{wait: wait(1500), op: opWrite, from: atM, content: mtsVersion(6), note: "edit (no features left)"},
	)
}

// TestMTSRecipeEditedWhileChangesetsWait: a changeset is held back by a
// 429 window on publish-changesets when the recipe is edited: the
// tileset ends built from the file with the new recipe, in full.
func TestMTSRecipeEditedWhileChangesetsWait(t *testing.T) {
	v1 := mtsVersion(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	v2 := mtsVersion(2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1)
	scriptedMTS(t,
		step{op: opCreate, to: atM, content: v1, note: "create"},
		step{wait: wait(1500), op: opRateLimitMTS, ep: mapbox.EndpointPublishChanges, gap: 2 * time.Second},
		step{wait: 0, op: opWrite, from: atM, content: v2, note: "edit (one feature changed)"},
		step{wait: wait(500), op: opEditRecipe, n: 11},
	)
}

// TestMTSLateSourceReplace replays what seeds 31272 and 31292 (-mts=only)
// found: a source replace whose answer is slower than the client's
// timeout (v2) takes effect at Mapbox after all, 1.5 s after it came;
// meanwhile the file changed (v3), the daemon replaced the source with v3
// and published, and the job, still queued when v2 landed, built v2. The
// daemon recorded v3 as published, and the tileset kept v2. Fixed in the
// sender (syncer/mts_late.go): a replace that ended without an answer makes
// the next replace of that source wait until it can no longer land.
func TestMTSLateSourceReplace(t *testing.T) {
	v1 := mtsVersion(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	v2 := mtsVersion(2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2)
	v3 := mtsVersion(3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3)
	h := &history{seed: 0, mode: "notify", processing: 200 * time.Millisecond, kinds: []kind{mtsGeoJSON}, tail: 3 * time.Second,
		mts: &mtsPlan{maxzoom: 10, queue: 700 * time.Millisecond, processing: 300 * time.Millisecond},
		steps: []step{
			{op: opCreate, to: atM, content: v1, note: "create"},
			{wait: wait(2500), op: opSlowAPI},
			{wait: 0, op: opWrite, from: atM, content: v2, note: "edit (every feature changed)"},
			{wait: wait(450), op: opFastAPI},
			{wait: 0, op: opWrite, from: atM, content: v3, note: "edit (every feature changed)"},
		}}
	for i := range h.steps {
		h.steps[i].mts = true
	}
	if v := play(t, h); !v.ok() {
		t.Logf("the guarantee does not hold after this scripted history")
	}
}
