package miniotest_test

import (
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapboxsim/storagetest"
)

// TestMinIOConformance runs the simulator's storage contract on a real
// MinIO (mapboxsim runs it on the in-memory store).
func TestMinIOConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Store { return miniotest.Shared(t) })
}
