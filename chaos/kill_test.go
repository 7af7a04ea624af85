package chaos

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestSIGKILL kills the real binary with SIGKILL at random moments, 20
// times, dropping new files and new versions while it is down, and restarts
// it after each kill: every file must reach its tileset exactly once.
func TestSIGKILL(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.dropFiles("k", pick(60, 30), 4000)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	rounds := 20
	for round := range rounds {
		c := e.spawn()
		// A random moment: mostly within the first seconds (startup, staging,
		// creates); one round in four late enough for polls to finish uploads.
		at := time.Duration(200+rng.IntN(2800)) * time.Millisecond
		if round%4 == 3 {
			at = time.Duration(4000+rng.IntN(3000)) * time.Millisecond
		}
		timer := time.NewTimer(at)
		select {
		case <-timer.C:
		case <-c.done:
			t.Fatalf("round %d: the daemon exited by itself: %v", round, c.err)
		}
		c.kill()
		switch round % 5 {
		case 1: // new files arrive while it is down
			e.dropFiles(fmt.Sprintf("r%02d-", round), 3, 4000)
		case 3: // a new version of a file it may be working on
			rel := fmt.Sprintf("d%d/k%04d.geojson", round%8, round)
			if err := e.ledger.Write(rel, tilesetOf(rel), content(tilesetOf(rel), round+2, 4000)); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := e.spawn()
	tally := e.waitQuiet(2*time.Minute, nil)
	c.kill()
	e.report(fmt.Sprintf("sigkill x%d", rounds), tally)
}
