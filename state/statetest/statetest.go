// Package statetest opens real state databases for tests.
package statetest

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
)

// Open opens a new state database in t.TempDir() with opts (Logger, Clock and
// limits as given; network filesystems allowed, since some CI temp folders
// are on one). At cleanup it runs Check, reporting a violation as a test
// error, and closes the store. A test may close it earlier: the cleanup then
// reopens the file (Open checks it) unless another store holds it.
func Open(t testing.TB, opts state.Options) *state.Store {
	t.Helper()
	return OpenPath(t, filepath.Join(t.TempDir(), "state.db"), opts)
}

// OpenPath is Open for a given path (to reopen a file within one test).
func OpenPath(t testing.TB, path string, opts state.Options) *state.Store {
	t.Helper()
	opts.AllowNetworkFS = true
	s, err := state.Open(path, opts)
	if err != nil {
		t.Fatalf("open state: %v", err)
	}
	t.Cleanup(func() {
		err := s.Check()
		if err == nil {
			err = s.CheckPending()
		}
		if errors.Is(err, state.ErrClosed) {
			// Closed by the test: check the file as it was left.
			var s2 *state.Store
			if s2, err = state.Open(path, opts); err == nil {
				err = errors.Join(s2.CheckPending(), s2.Close())
			}
		}
		if err != nil {
			t.Errorf("state check at cleanup: %v", err)
		}
		_ = s.Close()
	})
	return s
}
