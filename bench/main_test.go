package bench

import (
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// A re-executed copy of this binary: staging (figure 5), the MTS
	// conversion (11a) or the changeset diff (11b).
	if child() || isMTSChild() || isChangesetChild() {
		return
	}
	code := m.Run()
	if tree.dir != "" {
		os.RemoveAll(tree.dir)
	}
	testenv.RemoveBinary()
	os.Exit(code)
}
