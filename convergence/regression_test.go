package convergence

import (
	"testing"
	"time"
)

// The four ways of losing an update (issue 12), each a scripted
// history played and judged like a generated one.

var (
	atA  = loc{watch: 0, stem: "p", ext: ".geojson"} // a/p.geojson → acme.p
	atB  = loc{watch: 1, stem: "p", ext: ".geojson"} // b/p.geojson → acme.p
	v    = func(n int) content { return content{v: [3]int{n, n, n}} }
	wait = func(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
)

// scripted plays a history of one GeoJSON file and fails t unless it converged.
func scripted(t *testing.T, processing, offset time.Duration, steps ...step) {
	t.Helper()
	h := &history{seed: 0, mode: "notify", processing: processing, offset: offset, kinds: []kind{geojson}, steps: steps, tail: 2 * time.Second}
	if v := play(t, h); !v.ok() {
		t.Logf("the guarantee does not hold after this scripted history")
	}
}

// TestRefusedCreateIsNotTheOldUpload: the tileset holds v1; the create for
// v2 is refused with a 500 before it takes effect. The retry must not take
// v1's upload for v2's.
func TestRefusedCreateIsNotTheOldUpload(t *testing.T) {
	scripted(t, 200*time.Millisecond, 0,
		step{wait: 0, op: opCreate, to: atA, content: v(1), note: "create"},
		step{wait: wait(1200), op: opFailCreate, status: 500},
		step{wait: 0, op: opWrite, from: atA, content: v(2), note: "edit"},
	)
}

// TestRevertWhileNewerInFlight: the tileset holds v1; v2 is created and
// processing when the file goes back to v1. v1 must be sent again after v2.
func TestRevertWhileNewerInFlight(t *testing.T) {
	scripted(t, 2*time.Second, 0,
		step{wait: 0, op: opCreate, to: atA, content: v(1), note: "create"},
		step{wait: wait(2800), op: opWrite, from: atA, content: v(2), note: "edit"},
		step{wait: wait(600), op: opWrite, from: atA, content: v(1), note: "revert to v1"},
	)
}

// TestMovedWhileItsJobWaits: offline, a new file's job waits to retry; the
// file moves to the other folder, same tileset. It must still be sent.
func TestMovedWhileItsJobWaits(t *testing.T) {
	scripted(t, 200*time.Millisecond, 0,
		step{wait: 0, op: opAPIDown},
		step{wait: 0, op: opCreate, to: atA, content: v(1), note: "create"},
		step{wait: wait(700), op: opMove, from: atA, to: atB, content: v(1), note: "move to the other folder, same tileset"},
		step{wait: wait(700), op: opAPIUp},
	)
}

// TestClockAheadLostAnswer: the daemon's clock is ten minutes ahead of
// Mapbox's; the create takes effect but its answer is lost. The retry must
// find the upload, not create it again.
func TestClockAheadLostAnswer(t *testing.T) {
	scripted(t, 200*time.Millisecond, -10*time.Minute,
		step{wait: 0, op: opDropAfter},
		step{wait: 0, op: opCreate, to: atA, content: v(1), note: "create"},
	)
}

// TestSeedHolderLostToTheRemovedFile replays the history (seed 410238771965,
// from `make chaos`) where a file that had lost a conflict to another was
// left recorded "superseded" after that other file was removed, although
// its content was what the tileset went on to hold: the state must say so
// (plan and status read it).
func TestSeedHolderLostToTheRemovedFile(t *testing.T) {
	if v := play(t, generate(410238771965)); !v.ok() {
		t.Logf("seed 410238771965 diverged again")
	}
}

// TestSeedWinnerRemovedAfterANewerVersion replays the history (seed
// 860639715113) where the file whose content a tileset held (v2) was
// written again (v3, never sent) and then removed: the other file that maps
// to the tileset was left "superseded" and the tileset kept the removed
// file's v2. The removal must count as the winner's, since the tileset's
// content came from that file.
func TestSeedWinnerRemovedAfterANewerVersion(t *testing.T) {
	if v := play(t, generate(860639715113)); !v.ok() {
		t.Logf("seed 860639715113 diverged again")
	}
}

// TestSeedMovedHolderAndAnEarlierFile replays the history (seed
// 615417748781) where the file whose content the tileset held was moved
// within its folder just as its upload ended: the removal of its old path
// read the other file of the tileset again, which had changed earlier, and
// sent it over the moved file's content. The moved file, found unchanged,
// must become the content's source and win the conflict (it changed last).
// Timing decides whether the race happens; state's
// TestHeldCopyBecomesTheSource plays the order that diverged.
func TestSeedMovedHolderAndAnEarlierFile(t *testing.T) {
	if v := play(t, generate(615417748781)); !v.ok() {
		t.Logf("seed 615417748781 diverged again")
	}
}

// TestSeedWinnerCancelledBeforeItsRemoval replays the history (seed
// 687792315319) where, at start, a file that changed later won its
// tileset over a moved shapefile and was removed while its job was being
// staged: the sender found it gone and cancelled the job before intake
// took the removal, which then saw no content of the tileset to hand over,
// and the shapefile stayed "superseded" with the tileset empty. Timing
// decides whether the race happens; intake's
// TestRemovedAfterItsJobWasCancelled plays the order that diverged.
func TestSeedWinnerCancelledBeforeItsRemoval(t *testing.T) {
	if v := play(t, generate(687792315319)); !v.ok() {
		t.Logf("seed 687792315319 diverged again")
	}
}

// TestSeedRecipeChangedThenWinnerRemoved replays the history (seed
// 111400393964) where an MTS recipe changed while the newer of two files
// of one tileset was queued: the older, found unchanged against what the
// tileset would hold, was passed over, and when the newer was removed the
// older was taken as holding the tileset's content, under the old recipe.
// intake's TestRemovedWinnerAfterARecipeChange plays the order that
// diverged.
func TestSeedRecipeChangedThenWinnerRemoved(t *testing.T) {
	if v := play(t, generate(111400393964)); !v.ok() {
		t.Logf("seed 111400393964 diverged again")
	}
}

// TestSeedRefusedWinner replays the history (seed 256472033362) where the
// newer of two MTS files of one tileset was left with no features: its
// job was cancelled and the file refused, and nothing handed the tileset
// back to the older file, whose record stayed "superseded". intake's
// TestRefusedWinnerHandsItsTilesetOver plays the orders that diverged.
func TestSeedRefusedWinner(t *testing.T) {
	if v := play(t, generate(256472033362)); !v.ok() {
		t.Logf("seed 256472033362 diverged again")
	}
}
