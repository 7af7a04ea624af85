package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// compactTxSize bounds the bytes copied in one transaction of Compact.
const compactTxSize = 64 << 20

// Compact gives back the space the database at path no longer uses (bbolt
// never shrinks its file: pages freed by removed records are only reused):
// it copies every record into a new file with bbolt's compaction, checks
// the copy as Open does, and puts it in the file's place. It takes the
// database's lock for the whole time, so it fails with ErrLocked beside a
// running tilesyncd (`tilesyncd compact` is for a stopped daemon), and it
// refuses a database that does not pass Open's checks. It returns the
// file's size before and after. A failure at any point leaves the database
// as it was.
func Compact(path string, opts Options) (before, after int64, err error) {
	opts.ReadOnly = false
	s, err := Open(path, opts)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	path = s.path
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	before = fi.Size()
	tmp := path + ".compact"
	os.Remove(tmp) // left by an interrupted compaction: never in use
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	defer os.Remove(tmp) // after the rename, a no-op
	if err := bolt.Compact(dst, s.db, compactTxSize); err != nil {
		dst.Close()
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	// The copy must pass the checks the original passed.
	check := opts
	check.LockTimeout = 0
	c, err := Open(tmp, check)
	if err != nil {
		return before, 0, fmt.Errorf("compact %s: the compacted copy fails its check, the database is left as it was: %w", path, err)
	}
	if err := errors.Join(c.CheckPending(), c.Close()); err != nil {
		return before, 0, fmt.Errorf("compact %s: the compacted copy fails its check, the database is left as it was: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return before, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // the rename survives a crash
		d.Close()
	}
	if fi, err := os.Stat(path); err == nil {
		after = fi.Size()
	}
	return before, after, nil
}
