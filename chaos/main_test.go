package chaos

import (
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinary()
	os.Exit(code)
}
