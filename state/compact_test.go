package state_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
	"time"
)

// TestCompactGivesBackSpace fills a database with file records, removes
// most of them, and checks that Compact shrinks the file, keeps every
// record left, and refuses to run while another Store holds the database.
func TestCompactGivesBackSpace(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/state.db"
	s := statetest.OpenPath(t, path, state.Options{})
	var recs []state.FileRecord
	for i := range 4000 {
		recs = append(recs, state.FileRecord{Key: state.FileKey{Watch: "/w", Path: fmt.Sprintf("d%03d/file-%05d.geojson", i%500, i)},
			Size: int64(i), ModTime: int64(i), SHA256: fmt.Sprintf("%064x", i), Tileset: fmt.Sprintf("u.t%05d", i), Outcome: state.OutcomeUploaded})
	}
	if err := s.PutFiles(recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[:3800] {
		if err := s.RemoveFile(r.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := state.Compact(path, state.Options{AllowNetworkFS: true, LockTimeout: 100 * time.Millisecond}); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Compact beside an open Store: %v, want ErrLocked", err)
	}
	s.Close()
	before, after, err := state.Compact(path, state.Options{AllowNetworkFS: true})
	if err != nil {
		t.Fatal(err)
	}
	if after >= before/2 {
		t.Fatalf("compacted from %d to %d bytes; want less than half with 95%% of the records removed", before, after)
	}
	s2 := statetest.OpenPath(t, path, state.Options{})
	n := 0
	if err := s2.Files("", func(state.FileRecord) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 200 {
		t.Fatalf("%d records after compaction, want 200", n)
	}
	t.Logf("compacted %d → %d bytes", before, after)
}
