package syncer

import (
	"errors"
	"fmt"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// A replace of a tileset source (or of a changeset) whose answer never
// came (a timeout, a connection lost after the body went) may still take
// effect at Mapbox, late: landing after a newer replace of the same
// source, it would put older bytes back under a publish that tilesyncd
// records as built from the newer ones (found by the convergence checker,
// TestMTSLateSourceReplace). So the next replace of that source waits
// until such a request can no longer arrive, the same quiet time a create
// or a publish whose answer was lost is given (Options.CreateQuiet).
//
// The wait is kept in memory: a restart within that time does not wait.

// settledFile returns a waitUntil error while a replace of the source or
// changeset id (kind "source" or "changeset") may still take effect.
func (m mts) settledFile(kind, id string) error {
	m.pub.unsettledMu.Lock()
	until, ok := m.pub.unsettled[kind+":"+id]
	m.pub.unsettledMu.Unlock()
	if !ok || !m.now().Before(until) {
		return nil
	}
	return waitUntil{at: until, why: fmt.Sprintf("an earlier replace of %s %s ended without an answer and may still take effect: waiting for it before replacing it again", kind, id)}
}

// replaced notes how a replace of the source or changeset id ended: one
// that may have taken effect without an answer makes the next wait.
func (m mts) replaced(kind, id string, err error) {
	if err == nil || provesNotCreated(err) || errors.Is(err, mapbox.ErrTilesetBusy) {
		return
	}
	m.pub.unsettledMu.Lock()
	defer m.pub.unsettledMu.Unlock()
	m.pub.unsettled[kind+":"+id] = m.now().Add(m.quiet)
}
