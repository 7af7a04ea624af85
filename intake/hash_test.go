package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHashFileHonoursCancellation: hashing a 20 GB file (sparse: no disk)
// stops within a chunk of its context's cancellation, as a SIGTERM or a
// SIGHUP during a long hash needs.
func TestHashFileHonoursCancellation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.mbtiles")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(20_000_000_000); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, n, err := HashFile(ctx, p); !errors.Is(err, context.Canceled) || n > hashBuffer {
		t.Errorf("HashFile(cancelled) = %d bytes, %v; want context.Canceled before reading more than a chunk", n, err)
	}

	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, n, err := HashFile(ctx, p)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("HashFile = %d bytes, %v; want context.Canceled", n, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("HashFile returned after %v, want soon after the cancellation at 100ms", d)
	}
}
