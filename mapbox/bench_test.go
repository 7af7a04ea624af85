package mapbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// BenchmarkPipeline runs credentials, a 64 KiB stage, create and status
// polls to completion against mapboxsim on the in-process store, and
// prints the API requests per file.
func BenchmarkPipeline(b *testing.B) {
	store, err := mapboxsim.NewMemStorage(mapboxsim.MemOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	srv := mapboxsim.New(mapboxsim.Options{Username: "alice", Storage: store, ProcessingTime: time.Nanosecond})
	defer srv.Close()
	c, err := mapbox.New(mapbox.Options{BaseURL: srv.URL(), Username: "alice", Token: srv.Token()})
	if err != nil {
		b.Fatal(err)
	}
	e := &env{srv: srv, store: store, client: c}
	data := make([]byte, 64<<10)
	ctx := context.Background()
	b.ResetTimer()
	files := 0
	for b.Loop() {
		files++
		i := files
		u := e.createUpload(b, fmt.Sprintf("alice.bench%d", i), data)
		for !u.Complete && u.Err() == nil {
			if u, err = c.Upload(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	var total int
	for _, n := range srv.Counts() {
		total += n
	}
	b.ReportMetric(float64(total)/float64(files), "requests/file")
}
