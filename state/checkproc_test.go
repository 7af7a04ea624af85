package state_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

// filesLeaf makes a database with enough file records for a branch page and
// returns its path and the offset of a leaf page of the files bucket.
func filesLeaf(t *testing.T) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	recs := make([]state.FileRecord, 2000)
	for i := range recs {
		recs[i] = state.FileRecord{Key: state.FileKey{Watch: "/w", Path: fmt.Sprintf("f%05d.geojson", i)},
			Size: 1, SHA256: fmt.Sprintf("%064x", i), Tileset: "acme.t", Outcome: state.OutcomeUploaded}
	}
	if err := s.PutFiles(recs); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	db.View(func(tx *bolt.Tx) error { root = uint64(tx.Bucket([]byte("files")).RootPage()); return nil })
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := data[root*4096:]
	if flags := binary.LittleEndian.Uint16(page[8:]); flags != 0x01 {
		t.Fatalf("files root page %d has flags %#x, want a branch page", root, flags)
	}
	leaf := binary.LittleEndian.Uint64(page[16+8:]) // the first branch element's page
	t.Cleanup(func() { os.Remove(path) })           // damaged: not for the helper's check
	return path, int64(leaf) * 4096
}

func patch(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestCheckProcessSurvivesFault: a leaf element whose key lies 2 GB past
// its page makes bbolt's Check fault in its own goroutine, where no recover
// reaches ("fatal error: fault", SIGSEGV in verifyKeyOrder: how `run` and
// `status` died in the campaign, seed 1796077646786464190, corruption 1).
// With a check process the file is refused and this process lives on.
func TestCheckProcessSurvivesFault(t *testing.T) {
	path, leaf := filesLeaf(t)
	// Element 1's key position (leaf element: flags, pos, ksize, vsize).
	patch(t, path, leaf+16+16+4, binary.LittleEndian.AppendUint32(nil, 0x7f000000))
	start := time.Now()
	_, err := state.Open(path, state.Options{Checker: state.CheckProcess{}})
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("got %v, want ErrCorrupt with advice", err)
	}
	t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
}

// TestCheckProcessTimeout: a check that does not end is killed after
// Timeout and the file refused.
func TestCheckProcessTimeout(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in check process is a shell script")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	s.Close()
	// A stand-in check process that opens the file and never ends.
	script := filepath.Join(dir, "hang.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'tilesyncd-state-check: opened'\nexec sleep 60\n"), 0o700)
	start := time.Now()
	_, err := state.Open(path, state.Options{Checker: state.CheckProcess{Executable: script, Timeout: 300 * time.Millisecond}})
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "did not end within 300ms") {
		t.Fatalf("got %v, want ErrCorrupt: did not end", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}

// TestCheckProcessSound: a sound file opens through the check process, which
// ran Store.Check; the store works.
func TestCheckProcessSound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{Checker: state.CheckProcess{}}) // new file: nothing to check
	fillJobs(t, s, 50)
	s.Close()
	for _, ro := range []bool{false, true} {
		s, err := state.Open(path, state.Options{Checker: state.CheckProcess{}, ReadOnly: ro})
		if err != nil {
			t.Fatalf("read-only %v: %v", ro, err)
		}
		if jobs, err := s.ListJobs(state.JobFilter{}); err != nil || len(jobs) != 50 {
			t.Errorf("read-only %v: %d jobs, %v", ro, len(jobs), err)
		}
		s.Close()
	}
}

// TestCheckProcessLocked: the check process waits for the lock like Open.
func TestCheckProcessLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	fillJobs(t, s, 5)
	_, err := state.Open(path, state.Options{Checker: state.CheckProcess{}, ReadOnly: true, LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
}

// changingChecker reports a transaction the file does not have: as if
// another process wrote between the check and the open.
type changingChecker struct{ calls *int }

func (c changingChecker) CheckFile(string, time.Duration) (state.FileCheck, error) {
	*c.calls++
	return state.FileCheck{TxID: 1 << 40, Schema: state.SchemaVersion, Store: true}, nil
}

func TestCheckedFileChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	fillJobs(t, s, 5)
	s.Close()
	calls := 0
	_, err := state.Open(path, state.Options{Checker: changingChecker{&calls}})
	if err == nil || !strings.Contains(err.Error(), "changed while it was being checked") || calls != 3 {
		t.Fatalf("got %v after %d checks, want 'changed' after 3", err, calls)
	}
}

// TestEmptyFileReadOnly: an empty file is damage to a reader (a writer
// initialises it).
func TestEmptyFileReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	os.WriteFile(path, nil, 0o600)
	if _, err := state.Open(path, state.Options{ReadOnly: true}); !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
}

// BenchmarkOpen opens a database of 100,000 files, checking it in process
// and in a check process (this test binary re-executed: start-up included).
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.db")
	s, err := state.Open(path, state.Options{AllowNetworkFS: true})
	if err != nil {
		b.Fatal(err)
	}
	recordFiles(b, s)
	s.Close()
	for _, bc := range []struct {
		name    string
		checker state.Checker
	}{{"in-process", nil}, {"check-process", state.CheckProcess{}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s, err := state.Open(path, state.Options{AllowNetworkFS: true, Checker: bc.checker})
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// TestCheckProcessWithoutReport: a program that is no check process (one
// whose main does not call CheckProcessMain) says nothing about the file:
// Open fails, but does not call the file damaged.
func TestCheckProcessWithoutReport(t *testing.T) {
	if _, err := os.Stat("/bin/true"); err != nil {
		t.Skip("no /bin/true")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	s.Close()
	_, err := state.Open(path, state.Options{Checker: state.CheckProcess{Executable: "/bin/true"}})
	if err == nil || errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), "without a report") {
		t.Fatalf("got %v, want an error that is not ErrCorrupt", err)
	}
}
