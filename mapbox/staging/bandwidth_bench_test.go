package staging_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// BenchmarkBandwidthCap stages a 512 MiB file (64 MiB under -short) to
// MinIO with the default settings (16 MiB parts, 4 at once) under a
// 20 MiB/s cap, on the machine's clock, and reports the rate achieved over
// the whole staging (creation and completion included) and its share of
// the cap, which should be within 5 % of 100:
//
//	go test -run '^$' -bench BandwidthCap ./mapbox/staging/
func BenchmarkBandwidthCap(b *testing.B) {
	const limit = 20 * mib
	size := int64(512 * mib)
	if testing.Short() {
		size = 64 * mib
	}
	s := miniotest.Shared(b)
	path := writeLargeFile(b, size)
	st, err := staging.New(staging.Options{Endpoint: s.Endpoint(), BandwidthLimit: limitOf(b, "20MiB")})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	var elapsed time.Duration
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("bench-bwcap/%d", i)
		i++
		start := time.Now()
		res, err := st.Stage(context.Background(), s.Credentials(b, key), path, nil, staging.Hooks{})
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if res.Size != size {
			b.Fatalf("staged %d bytes, want %d", res.Size, size)
		}
		b.StopTimer()
		s.Delete(context.Background(), key)
		b.StartTimer()
	}
	achieved := float64(size) * float64(i) / elapsed.Seconds()
	b.ReportMetric(achieved/mib, "MiB/s")
	b.ReportMetric(100*achieved/limit, "%-of-cap")
}

// writeLargeFile writes size pseudo-random bytes to a temporary file, a
// MiB at a time, and returns its path.
func writeLargeFile(b *testing.B, size int64) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "large.mbtiles")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, mib)
	r := rand.NewChaCha8([32]byte{42})
	buf := make([]byte, mib)
	for n := int64(0); n < size; n += mib {
		r.Read(buf)
		if _, err := w.Write(buf[:min(mib, size-n)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}
