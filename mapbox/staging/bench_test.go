package staging_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// BenchmarkStage stages a 256 MiB file to MinIO with the default settings
// (16 MiB parts, 4 at once) and reports the throughput (MB/s), the peak of
// the live heap during staging and the bytes allocated per staging (B/op):
// both stay near Concurrency × PartSize (64 MiB) whatever the file's size.
//
//	go test -run '^$' -bench Stage -benchmem ./mapbox/staging/
func BenchmarkStage(b *testing.B) {
	if testing.Short() {
		b.Skip("stages 256 MiB")
	}
	s := miniotest.Shared(b)
	const size = 256 * mib
	path, _ := writeFile(b, size) // not kept: the peak is the stager's
	st, err := staging.New(staging.Options{Endpoint: s.Endpoint()})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	runtime.GC()
	peak := sampleHeap()
	b.ResetTimer()
	for i := range b.N {
		key := fmt.Sprintf("bench/%d", i)
		res, err := st.Stage(context.Background(), s.Credentials(b, key), path, nil, staging.Hooks{})
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
	b.StopTimer()
	b.ReportMetric(float64(peak())/mib, "peak-heap-MiB")
}

// sampleHeap samples the live heap every few milliseconds until the returned
// function is called, which returns the peak seen.
func sampleHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	read := func() {
		metrics.Read(sample)
		mu.Lock()
		peak = max(peak, sample[0].Value.Uint64())
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
