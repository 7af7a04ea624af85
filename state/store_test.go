package state_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tilesyncd/tilesyncd/fstype"
	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// newClock is a manual clock for Options.Clock.
func newClock() *clock.Manual { return clock.NewManual(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)) }

func TestOpenCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenTightensMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s2 := statetest.OpenPath(t, path, state.Options{})
	fi, _ := os.Stat(s2.Path())
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after reopen, want 0600", fi.Mode().Perm())
	}
}

func TestLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	statetest.OpenPath(t, path, state.Options{})

	start := time.Now()
	_, err := state.Open(path, state.Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("second open took %s", waited)
	}
	if !strings.Contains(err.Error(), "another tilesyncd is using "+path) {
		t.Errorf("message %q does not name the path", err)
	}
	// A reader (status without a daemon) is refused as well.
	_, err = state.Open(path, state.Options{LockTimeout: 100 * time.Millisecond, ReadOnly: true})
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("read-only open: got %v, want ErrLocked", err)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if _, err := state.Open(path, state.Options{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing file: got %v, want ErrNotExist", err)
	}
	s := statetest.OpenPath(t, path, state.Options{})
	if _, err := s.Enqueue(newJob("u.a", "a.geojson", "aa")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	r1, err := state.Open(path, state.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := state.Open(path, state.Options{ReadOnly: true}) // readers share
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	snap, err := r2.Snapshot(10)
	if err != nil || snap.Counts["queued"] != 1 {
		t.Fatalf("snapshot: %+v, %v", snap, err)
	}
	if _, err := r1.Enqueue(newJob("u.b", "b.geojson", "bb")); !errors.Is(err, state.ErrReadOnly) {
		t.Fatalf("write on read-only store: got %v", err)
	}
}

func TestCheckFilesystem(t *testing.T) {
	tests := []struct {
		info fstype.Info
		ok   bool
	}{
		{fstype.Info{Kind: fstype.Local, Name: "ext4"}, true},
		{fstype.Info{Kind: fstype.Local, Name: "unknown"}, true},
		{fstype.Info{Kind: fstype.Network, Name: "nfs"}, false},
		{fstype.Info{Kind: fstype.Network, Name: "smb2"}, false},
		{fstype.Info{Kind: fstype.FUSE, Name: "fuse"}, false},
	}
	for _, tt := range tests {
		err := state.CheckFilesystem("/srv/state.db", tt.info)
		if got := err == nil; got != tt.ok {
			t.Errorf("CheckFilesystem(%v) = %v, want ok=%v", tt.info, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, state.ErrNetworkFS) || !strings.Contains(err.Error(), tt.info.Name)) {
			t.Errorf("CheckFilesystem(%v) = %q, want ErrNetworkFS naming the filesystem", tt.info, err)
		}
	}
	// The real temp folder is local here, so Open with the default refusal works.
	dir := t.TempDir()
	if info, err := fstype.Detect(dir); err == nil && !info.Remote() {
		s, err := state.Open(filepath.Join(dir, "state.db"), state.Options{})
		if err != nil {
			t.Fatalf("open on %v: %v", info, err)
		}
		s.Close()
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := state.Open(garbage, state.Options{})
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "move it aside") || !strings.Contains(err.Error(), "tilesyncd adopt") {
		t.Fatalf("garbage: got %v, want ErrCorrupt with advice", err)
	}

	// A real database whose pages are overwritten past the meta pages.
	path := filepath.Join(dir, "torn.db")
	s := statetest.OpenPath(t, path, state.Options{})
	fillJobs(t, s, 200)
	s.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := make([]byte, fi.Size()-2*4096)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	if _, err := f.WriteAt(junk, 2*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = state.Open(path, state.Options{})
	if !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("torn pages: got %v, want ErrCorrupt", err)
	}
	os.Remove(path) // so the helper's cleanup does not check the damaged file

	// Truncated files: bbolt alone would die of SIGBUS reading past the end.
	for _, frac := range []int64{2, 4, 16} {
		path := filepath.Join(dir, fmt.Sprint("short", frac, ".db"))
		s, err := state.Open(path, state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		fillJobs(t, s, 300)
		s.Close()
		fi, _ := os.Stat(path)
		if err := os.Truncate(path, fi.Size()/frac); err != nil {
			t.Fatal(err)
		}
		if _, err := state.Open(path, state.Options{}); !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("truncated to 1/%d: got %v, want ErrCorrupt", frac, err)
		}
	}
}

// TestInconsistentIsCorrupt: a job without its index entry is caught by Check at Open.
func TestInconsistentIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	fillJobs(t, s, 3)
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("jobs_by_tileset"))
		k, _ := b.Cursor().First()
		return b.Delete(k)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = state.Open(path, state.Options{})
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "index") {
		t.Fatalf("got %v, want ErrCorrupt about the index", err)
	}
	os.Remove(path)
}

func setSchema(t *testing.T, path string, v uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	s.Close()
	setSchema(t, path, state.SchemaVersion+1)
	_, err := state.Open(path, state.Options{})
	if !errors.Is(err, state.ErrNewerSchema) {
		t.Fatalf("got %v, want ErrNewerSchema", err)
	}
	setSchema(t, path, state.SchemaVersion) // for the helper's cleanup check
}

// TestMigrateV1 writes a schema-1 database by hand (numeric stages, no
// per-tileset index, global history only) and opens it.
func TestMigrateV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(tx *bolt.Tx, bucket string, key []byte, v any) {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(v)
		if err := b.Put(key, data); err != nil {
			t.Fatal(err)
		}
	}
	seq := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucketIfNotExists([]byte("meta"))
		meta.Put([]byte("schema"), seq(1))
		put(tx, "files", []byte("/data\x00a.geojson"), map[string]any{"size": 10, "mtime_ns": -5, "file_id": "2049:77", "sha256": "aa",
			"tileset": "u.a", "outcome": "pending", "updated_at": "2026-11-23T08:00:00.5Z"})
		put(tx, "tilesets", []byte("u.b"), map[string]any{"sha256": "bb", "upload_id": "up1"})
		put(tx, "jobs", seq(1), map[string]any{"id": 1, "tileset": "u.a", "source": map[string]string{"watch": "/data", "path": "a.geojson"},
			"sha256": "aa", "stage": 1})
		put(tx, "jobs", seq(2), map[string]any{"id": 2, "tileset": "u.c", "source": map[string]string{"watch": "/data", "path": "c.geojson"},
			"sha256": "cc", "stage": 5, "retry_from": 3, "staged_sha256": "cc", "attempts": 2})
		tx.Bucket([]byte("jobs")).SetSequence(2)
		put(tx, "history", seq(1), map[string]any{"seq": 1, "tileset": "u.b", "source": map[string]string{"watch": "/data", "path": "b.geojson"},
			"sha256": "bb", "outcome": "uploaded", "upload_id": "up1"})
		tx.Bucket([]byte("history")).SetSequence(1)
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	if _, err := state.Open(path, state.Options{ReadOnly: true}); !errors.Is(err, state.ErrOlderSchema) {
		t.Fatalf("read-only open of v1: got %v, want ErrOlderSchema", err)
	}
	s := statetest.OpenPath(t, path, state.Options{})
	jobs, err := s.ListJobs(state.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Stage != state.StageQueued || jobs[1].Stage != state.StageRetryWait ||
		jobs[1].RetryFrom != state.StageStaged || jobs[1].Attempts != 2 {
		t.Fatalf("migrated jobs: %+v", jobs)
	}
	counts, _ := s.Counts()
	if counts[state.StageQueued] != 1 || counts[state.StageRetryWait] != 1 {
		t.Errorf("index counts after migration: %v", counts)
	}
	h, _ := s.TilesetHistory("u.b")
	if len(h) != 1 || h[0].UploadID != "up1" {
		t.Errorf("tileset history after migration: %+v", h)
	}
	fh, _ := s.FileHistory(state.FileKey{Watch: "/data", Path: "b.geojson"})
	if len(fh) != 1 {
		t.Errorf("file history after migration: %+v", fh)
	}
	// The migrated queue works: u.a's job is runnable, a new job gets ID 3.
	res, err := s.Enqueue(newJob("u.d", "d.geojson", "dd"))
	if err != nil || res.Job.ID != 3 {
		t.Fatalf("enqueue after migration: %+v, %v", res, err)
	}
	if ok, _ := s.Unchanged("u.b", "bb"); !ok {
		t.Errorf("tileset record lost in migration")
	}
	// v3: the file record, re-encoded, keeps every field.
	rec, ok, err := s.File(state.FileKey{Watch: "/data", Path: "a.geojson"})
	want := time.Date(2026, 11, 23, 8, 0, 0, 5e8, time.UTC)
	if err != nil || !ok || rec.Size != 10 || rec.ModTime != -5 || rec.FileID != "2049:77" || rec.SHA256 != "aa" ||
		rec.Tileset != "u.a" || rec.Outcome != state.OutcomePending || !rec.UpdatedAt.Equal(want) {
		t.Errorf("file record after migration: %+v (ok %v, %v)", rec, ok, err)
	}
}

// TestRandomDamage overwrites random stretches of a real database: Open
// must return (ErrCorrupt or success), never crash the process.
func TestRandomDamage(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.db")
	s, err := state.Open(orig, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fillJobs(t, s, 300)
	s.Close()
	data, _ := os.ReadFile(orig)
	rng := rand.New(rand.NewPCG(1, 2))
	corrupt := 0
	for i := range 40 {
		damaged := slices.Clone(data)
		off := rng.IntN(len(damaged) - 256)
		for j := range 1 + rng.IntN(256) {
			damaged[off+j] = byte(rng.Uint32())
		}
		path := filepath.Join(dir, fmt.Sprint(i, ".db"))
		os.WriteFile(path, damaged, 0o600)
		s, err := state.Open(path, state.Options{})
		switch {
		case err == nil:
			s.Close()
		case errors.Is(err, state.ErrCorrupt):
			corrupt++
		default:
			t.Errorf("damage at %d: %v", off, err)
		}
	}
	t.Logf("%d of 40 damaged files reported corrupt (the rest hit unused pages)", corrupt)
}
