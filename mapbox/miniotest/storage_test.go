package miniotest_test

import (
	"github.com/tilesyncd/tilesyncd/mapbox/mapboxtest"
	"github.com/tilesyncd/tilesyncd/mapbox/miniotest"
)

// The test server runs on a MinIO through this interface.
var _ mapboxtest.Storage = (*miniotest.Server)(nil)
