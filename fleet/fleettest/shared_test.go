package fleettest

import (
	"testing"
	"time"
)

// TestSharedFolder: two nodes watch one shared folder, each with its own
// state. Every file's content is created once, by one of them, and the
// other records it as held; a new version is sent once too.
func TestSharedFolder(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.drop(w.base.Drop, "s", 20, 3000)
	a := w.run("a", w.node("a", nodeOptions{shared: true}))
	b := w.run("b", w.node("b", nodeOptions{shared: true}))
	idle := func() bool { return a.idle() && b.idle() }
	w.converge("shared folder, two nodes", time.Minute, idle)
	for i := range 5 {
		w.write(w.base.Drop, "s000"+string(rune('0'+i)), 2, 3000)
	}
	w.converge("shared folder, new versions", time.Minute, idle)
	ua, ub := a.D.Syncer().Stats().Uploaded.Load(), b.D.Syncer().Stats().Uploaded.Load()
	t.Logf("uploads by a %d, by b %d", ua, ub)
	if ua+ub != 25 {
		t.Errorf("uploaded %d + %d, want 25 in all", ua, ub)
	}
}
