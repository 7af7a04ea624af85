package bench

import (
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if child() { // a re-executed copy of this binary, staging (figure 5)
		return
	}
	code := m.Run()
	if tree.dir != "" {
		os.RemoveAll(tree.dir)
	}
	testenv.RemoveBinary()
	os.Exit(code)
}
