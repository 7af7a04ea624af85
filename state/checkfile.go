package state

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	bolt "go.etcd.io/bbolt"
)

// checkFile is the check a Checker runs: it opens the file read-only (a
// shared lock, waiting at most lockTimeout), calls opened, runs bbolt's page check and,
// when the schema is current, Store.Check, and closes it. It is what the
// check process runs; a fault or a panic in this goroutine becomes
// ErrCorrupt, but one in bbolt's own checking goroutine ends the process,
// and a walk around a cycle of pages need not end: hence the process. On
// damage it returns without closing the file (a walk may still be reading
// it): the process's exit does.
func checkFile(path string, lockTimeout time.Duration, opened func()) (fc FileCheck, err error) {
	if err := checkLength(path); err != nil {
		return fc, corrupt(path, err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	opts := Options{ReadOnly: true, LockTimeout: lockTimeout, Clock: clock.Real{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	db, _, err := openBolt(path, opts)
	if err != nil {
		return fc, err
	}
	opened()
	s := &Store{db: db, path: path, log: opts.Logger, now: opts.Clock.Now, opts: opts}
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(path, fmt.Errorf("bbolt panicked: %v", r))
		}
	}()
	if err := db.View(func(tx *bolt.Tx) error { fc.TxID = uint64(tx.ID()); return nil }); err != nil {
		return fc, corrupt(path, err)
	}
	if fc.Schema, err = s.schemaVersion(); err != nil {
		return fc, corrupt(path, err)
	}
	// bbolt's page check and, for a current schema, Store.Check run side by
	// side: a fault or a runaway walk in either ends only this process.
	storeErr := make(chan error, 1)
	if fc.Schema == SchemaVersion {
		go func() {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			defer func() {
				if r := recover(); r != nil {
					storeErr <- fmt.Errorf("bbolt panicked: %v", r)
				}
			}()
			storeErr <- s.Check()
		}()
	} else {
		storeErr <- nil
	}
	if err := s.boltCheck(); err != nil {
		return fc, corrupt(path, err)
	}
	if err := <-storeErr; err != nil {
		return fc, corrupt(path, err)
	}
	fc.Store = fc.Schema == SchemaVersion
	return fc, db.Close()
}

// errChanged: the file changed between its check and Open's own look at it.
var errChanged = errors.New("the file changed while it was being checked")

// sameAsChecked reports whether db is the file fc was made of: the same file
// (not one moved into its place) at the same transaction.
func sameAsChecked(db *bolt.DB, file *os.File, before os.FileInfo, fc FileCheck) error {
	after, err := file.Stat()
	if err != nil {
		return err
	}
	var txid uint64
	if err := db.View(func(tx *bolt.Tx) error { txid = uint64(tx.ID()); return nil }); err != nil {
		return err
	}
	if !os.SameFile(before, after) || txid != fc.TxID {
		return errChanged
	}
	return nil
}
