package daemon

import (
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }
