package fleettest

import (
	"os"
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}
