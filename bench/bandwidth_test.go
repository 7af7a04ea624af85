package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// BenchmarkBandwidthCap measures figure 10: a 512 MiB file (64 MiB at the
// short scale) staged to a real MinIO under a 20 MiB/s cap
// (mapbox.bandwidth_limit), creation and completion included, against the
// cap; the baseline is the same staging with no cap, in the same run, so
// that the cap is seen to bind.
func BenchmarkBandwidthCap(b *testing.B) {
	const mib = 1 << 20
	const limit = 20 * mib
	size := int64(512 * mib)
	if short() {
		size = 64 * mib
	}
	srv := miniotest.Shared(b)
	p := randomFile(b, b.TempDir(), size)
	defer os.Remove(p)
	stage := func(sched bwlimit.Schedule) time.Duration {
		st, err := staging.New(staging.Options{Endpoint: srv.Endpoint(), BandwidthLimit: sched})
		if err != nil {
			b.Fatal(err)
		}
		key := fmt.Sprintf("bench/bwcap-%d", time.Now().UnixNano())
		start := time.Now()
		res, err := st.Stage(context.Background(), srv.Credentials(b, key), p, nil, staging.Hooks{})
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if res.Size != size {
			b.Fatalf("staged %d bytes, want %d", res.Size, size)
		}
		srv.Delete(context.Background(), key)
		return took
	}
	capped, err := bwlimit.Parse("20MiB")
	if err != nil {
		b.Fatal(err)
	}
	free := stage(bwlimit.Schedule{})
	took := stage(capped)
	rate := float64(size) / took.Seconds()
	pct := 100 * rate / limit
	line("10. staging %d MiB under a 20 MiB/s cap: %.2f MiB/s, %.1f %% of the cap (no cap, same run: %.0f MiB/s) — target within 5 %% of the cap: %s",
		size/mib, rate/mib, pct, float64(size)/free.Seconds()/mib, verdict(pct >= 95 && pct <= 105))
}
