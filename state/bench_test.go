package state_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

const benchFiles = 100_000

func benchRecord(i int) state.FileRecord {
	return state.FileRecord{
		Key:  state.FileKey{Watch: "/srv/gis/exports", Path: fmt.Sprintf("region-%03d/layer-%06d.geojson", i%500, i)},
		Size: int64(1000 + i), ModTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() + int64(i),
		FileID: fmt.Sprintf("2049:%d", 1000000+i), SHA256: fmt.Sprintf("%064x", i*7919),
		Tileset: fmt.Sprintf("acme.layer-%d", i%2000), Outcome: state.OutcomeUploaded,
	}
}

// recordFiles writes benchFiles records in transactions of 1,000.
func recordFiles(b *testing.B, s *state.Store) {
	batch := make([]state.FileRecord, 0, 1000)
	for i := range benchFiles {
		batch = append(batch, benchRecord(i))
		if len(batch) == cap(batch) {
			if err := s.PutFiles(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

func fileSize(b *testing.B, path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return float64(fi.Size())
}

// BenchmarkRecordFiles records 100,000 files (1,000 per transaction) into a
// new database; it reports the time per file and the file size it leaves.
func BenchmarkRecordFiles(b *testing.B) {
	var size float64
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "state.db")
		s, err := state.Open(path, state.Options{AllowNetworkFS: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		recordFiles(b, s)
		b.StopTimer()
		s.Close()
		size = fileSize(b, path)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchFiles), "ns/file")
	b.ReportMetric(size, "db-bytes")
	b.ReportMetric(size/benchFiles, "db-bytes/file")
}

// BenchmarkLookupFiles looks files up by key in a database of 100,000 files
// (one read transaction per lookup, as the syncer's skip test does); it also
// reports how long opening (with its full check) and a full Files scan take.
func BenchmarkLookupFiles(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.db")
	s, err := state.Open(path, state.Options{AllowNetworkFS: true})
	if err != nil {
		b.Fatal(err)
	}
	recordFiles(b, s)
	s.Close()
	start := time.Now()
	s, err = state.Open(path, state.Options{AllowNetworkFS: true})
	if err != nil {
		b.Fatal(err)
	}
	openTime := time.Since(start)
	defer s.Close()
	start = time.Now()
	n := 0
	if err := s.Files("/srv/gis/exports", func(state.FileRecord) error { n++; return nil }); err != nil || n != benchFiles {
		b.Fatalf("scan: %d files, %v", n, err)
	}
	scanTime := time.Since(start)

	i := 0
	b.ResetTimer()
	for b.Loop() {
		want := benchRecord(i * 7 % benchFiles)
		rec, ok, err := s.File(want.Key)
		if err != nil || !ok || rec.SHA256 != want.SHA256 {
			b.Fatalf("lookup %s: %v %v", want.Key, ok, err)
		}
		i++
	}
	b.ReportMetric(fileSize(b, path), "db-bytes")
	b.ReportMetric(float64(openTime.Milliseconds()), "open-ms")
	b.ReportMetric(float64(scanTime.Nanoseconds())/benchFiles, "scan-ns/file")
}
