package state_test

import (
	"os"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
)

// TestMain lets the test binary serve as the check process of the tests
// that open files with a state.CheckProcess.
func TestMain(m *testing.M) {
	state.CheckProcessMain()
	os.Exit(m.Run())
}
