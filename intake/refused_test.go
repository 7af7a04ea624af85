package intake

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// Two files map to one tileset; the one that changed later (W) wins and
// its job replaces the other's (L, recorded as superseded). W then changes
// into something Mapbox cannot take and is refused: like a removal, that
// must hand the tileset to L, whether intake takes the change while W's
// job is queued (the job is cancelled) or after the sender, finding the
// file changed, cancelled it. (The checker's seed 256472033362: an MTS
// file left with no features, and L's record left "superseded".)
func TestRefusedWinnerHandsItsTilesetOver(t *testing.T) {
	mtsRule := "  - match: \"**\"\n    target: mts\n    tileset: \"{username}.{stem}\"\n    recipe: r.json\n"
	uploadsRule := "  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n"
	noFeatures := `{"type":"FeatureCollection","features":[]}`
	for _, tc := range []struct {
		name, rule, refused string
		senderFirst         bool
	}{
		{"MTS conversion", mtsRule, noFeatures, false},
		{"MTS conversion after the sender cancelled", mtsRule, noFeatures, true},
		{"Uploads API empty file", uploadsRule, "", false},
		{"Uploads API empty file after the sender cancelled", uploadsRule, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, drop, _ := newRulesIntake(t, tc.rule)
			c := conflict{t: t, in: in, drop: drop}
			lRel, wRel := "b/k.geojson", "a/k.geojson"
			c.write(lRel, `{"type":"FeatureCollection","features":[`+point+`]}`)
			c.ingest(lRel, watcher.Ready)
			c.writeLater(wRel, `{"type":"FeatureCollection","features":[`+point+`,`+point+`]}`, lRel)
			c.ingest(wRel, watcher.Ready)
			w := c.lostTo(lRel, wRel)

			c.write(wRel, tc.refused)
			if tc.senderFirst {
				if _, _, err := in.store.CancelGone(w.ID, "the file changed while it was staged"); err != nil {
					t.Fatal(err)
				}
			}
			c.ingest(wRel, watcher.Ready)
			if rec, _, _ := in.store.File(c.key(wRel)); rec.Outcome != state.OutcomeRefused {
				t.Fatalf("W's record: %q, want refused", rec.Outcome)
			}
			if jobs := c.jobs(); len(jobs) != 0 {
				t.Errorf("jobs %v after W was refused, want none (its content can no longer be sent)", jobs)
			}
			if !slices.Contains(in.rereads, c.key(lRel)) {
				t.Fatalf("L is not read again after W, its winner, was refused (read again: %v)", in.rereads)
			}
			c.ingest(lRel, watcher.Ready)
			if jobs := c.jobs(); len(jobs) != 1 || jobs[0].Source != c.key(lRel) {
				t.Errorf("jobs %v, want L's", jobs)
			}
		})
	}
}

// Two files of one tileset that changed within one tick of the file
// system's clock (4 ms on ext4) tie. The one the tileset holds or will
// hold keeps it: the other, read later, is recorded superseded rather than
// sent over it, one create instead of two (the checker's seed
// 615417746293: a file moved 1 ms before the other was appended, both
// sent). A tie is the other file's change at the very time of this one's.
func TestConflictTieKeepsTheTilesetsContent(t *testing.T) {
	in, drop, _ := newRulesIntake(t, "  - match: \"**\"\n    tileset: \"{username}.{stem}\"\n")
	c := conflict{t: t, in: in, drop: drop}
	c.write("a/p.geojson", `{"type":"FeatureCollection","features":[]}`)
	abs := filepath.Join(drop, "a", "p.geojson")
	fi, err := os.Stat(abs)
	if err != nil {
		t.Fatal(err)
	}
	if !in.changedLater(c.key("a/p.geojson"), changedOf(abs, fi)) {
		t.Error("a file that changed at the same time as the one read does not win the tie: both would be sent")
	}
	if in.changedLater(c.key("a/p.geojson"), changedOf(abs, fi).Add(time.Nanosecond)) {
		t.Error("a file that changed before the one read wins over it")
	}
}
