package watcher

import (
	"fmt"
	"runtime"
	"testing"
)

// TestOutboxGivesBackItsPeak: the startup scan queues every file's event
// before the consumer takes the first; once the consumer has taken them
// all, the outbox's memory goes back (a Go map never shrinks: it is made
// anew). Without it, a million files kept ~170 MB for the daemon's life.
func TestOutboxGivesBackItsPeak(t *testing.T) {
	const n = 200_000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	o := newOutbox()
	before := heap()
	for i := range n {
		o.push(fmt.Sprintf("folder%04d/file%06d.geojson", i/100, i), Event{Kind: Ready})
	}
	peak := heap()
	for o.len() > 0 {
		o.pop()
	}
	after := heap()
	runtime.KeepAlive(o)
	t.Logf("heap: %d before, %d with %d events queued, %d once taken", before, peak, n, after)
	if grown := peak - before; after > before+grown/10 {
		t.Errorf("the drained outbox keeps %d bytes of its %d-byte peak", after-before, grown)
	}
}
