package mapboxsim_test

import (
	"testing"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/mapboxsim/storagetest"
)

// TestMemStorageConformance runs the storage contract on the in-memory store
// (internal/miniotest runs it on MinIO).
func TestMemStorageConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Store {
		return newMemStorage(t, mapboxsim.MemOptions{})
	})
}
