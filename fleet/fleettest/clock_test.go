package fleettest

import (
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// TestClockOff: Mapbox's clock is 10 minutes ahead of this machine's, and
// node a's own clock 10 minutes behind it, while two nodes share a folder.
// Three creates take effect and lose their answers, so their intents are
// resolved through Mapbox's list by whichever node claims the tileset
// next: no node's clock may make it miss the upload (a create sent twice)
// or take an older one.
func TestClockOff(t *testing.T) {
	w := newWorld(t, worldOptions{sim: mapboxsim.Options{Clock: clock.Offset(10 * time.Minute)}})
	a := w.run("a", w.node("a", nodeOptions{shared: true}), func(o *daemon.Options) { o.Clock = clock.Offset(-10 * time.Minute) })
	b := w.run("b", w.node("b", nodeOptions{shared: true}))
	w.base.Srv.DropAfterNext(mapbox.EndpointCreate, 3)
	w.drop(w.base.Drop, "c", 12, 2000)
	w.converge("clocks 10 min off, answers lost", time.Minute, func() bool { return a.idle() && b.idle() })
	for i := range 3 {
		w.write(w.base.Drop, "c000"+string(rune('0'+i)), 2, 2000)
	}
	w.converge("clocks 10 min off, new versions", time.Minute, func() bool { return a.idle() && b.idle() })
}
