package daemon

import (
	"testing"

	"github.com/tilesyncd/tilesyncd/mapbox/miniotest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }
