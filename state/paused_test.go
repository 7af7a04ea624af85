package state_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// The paused folders are kept across a reopen, sorted and without repeats;
// an empty set removes the record.
func TestPausedFoldersKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	if got, err := s.PausedFolders(); err != nil || got != nil {
		t.Fatalf("a new database: paused %q, %v; want none", got, err)
	}
	if err := s.SetPausedFolders([]string{"/srv/b", "/srv/a", "/srv/b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = statetest.OpenPath(t, path, state.Options{})
	want := []string{"/srv/a", "/srv/b"}
	if got, err := s.PausedFolders(); err != nil || !slices.Equal(got, want) {
		t.Fatalf("after a reopen: paused %q, %v; want %q", got, err, want)
	}
	if err := s.SetPausedFolders(nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PausedFolders(); err != nil || got != nil {
		t.Errorf("after resuming all: paused %q, %v; want none", got, err)
	}
	if err := s.SetPausedFolders([]string{""}); !errors.Is(err, state.ErrInvalidKey) {
		t.Errorf("an empty folder name: %v, want ErrInvalidKey", err)
	}
}

// NextDue asks its caller about queued jobs too: a refused one (a paused
// folder's) neither starts nor takes the place of one that may.
func TestNextDueSkipsRefusedQueuedJobs(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	for _, nj := range []state.NewJob{
		{Tileset: "u.a", Source: state.FileKey{Watch: "/paused", Path: "a"}, SHA256: "a1", Size: 1},
		{Tileset: "u.b", Source: state.FileKey{Watch: "/paused", Path: "b"}, SHA256: "b1", Size: 1},
		{Tileset: "u.c", Source: state.FileKey{Watch: "/open", Path: "c"}, SHA256: "c1", Size: 1},
	} {
		if _, err := s.Enqueue(nj); err != nil {
			t.Fatal(err)
		}
	}
	next, err := s.NextDue(1, func(j state.Job) bool { return j.Source.Watch != "/paused" })
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 1 || next[0].Tileset != "u.c" {
		t.Errorf("NextDue(1) with /paused held = %v, want the job of u.c", next)
	}
}

// A paused folders' record that does not decode is damage: Open refuses
// the file, naming the record.
func TestPausedRecordDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := state.Open(path, state.Options{AllowNetworkFS: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPausedFolders([]string{"/srv/a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("paused"), []byte(`["/srv/a"`)) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = state.Open(path, state.Options{AllowNetworkFS: true})
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "paused folders") {
		t.Fatalf("got %v, want ErrCorrupt naming the paused folders' record", err)
	}
}
