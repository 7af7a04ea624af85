package miniotest_test

import (
	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// The test server runs on a MinIO through this interface.
var _ mapboxsim.Storage = (*miniotest.Server)(nil)
