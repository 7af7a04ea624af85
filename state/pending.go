package state

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A file record that says pending waits for a job of its tileset that sends
// its content (queued or in flight): Enqueue writes both in one
// transaction, and every way a job ends settles the records waiting for it
// (setFileOutcome). checkPending asserts it; RepairPending mends a database
// written by an older tilesyncd, which could leave a pending record behind.

// liveContents returns, per tileset, the contents of its jobs queued or in
// flight.
func liveContents(tx *bolt.Tx) (map[string]map[string]bool, error) {
	live := map[string]map[string]bool{}
	err := eachJob(tx, func(j Job) error {
		if j.Stage == StageFailed {
			return nil
		}
		if live[j.Tileset] == nil {
			live[j.Tileset] = map[string]bool{}
		}
		live[j.Tileset][j.SHA256] = true
		return nil
	})
	return live, err
}

// orphans calls fn for each pending file record with no job to wait for.
func orphans(tx *bolt.Tx, fn func(FileRecord) error) error {
	live, err := liveContents(tx)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
		rec, err := decodeFileRecord(v)
		if err != nil || rec.Outcome != OutcomePending {
			return nil // a record that does not decode is checkRecords' to report
		}
		if live[rec.Tileset][rec.SHA256] {
			return nil
		}
		key, err := parseFileKey(k)
		if err != nil {
			return nil
		}
		rec.Key = key
		return fn(rec)
	})
}

// CheckPending reports the pending file records that wait for no job (at
// most 20), or nil. It is not part of Check, which Open runs: a database an
// older tilesyncd wrote may hold such records, and the syncer mends them
// (RepairPending) rather than refuse the file. Tests run both.
func (s *Store) CheckPending() error {
	var errs []error
	err := s.view(func(tx *bolt.Tx) error {
		return orphans(tx, func(rec FileRecord) error {
			if len(errs) < 20 {
				errs = append(errs, fmt.Errorf("file %s is pending for %s %s, which no job sends", rec.Key, rec.Tileset, short(rec.SHA256)))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("check pending records of %s: %w", s.path, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("check %s: %w", s.path, errors.Join(errs...))
	}
	return nil
}

// RepairPending makes every pending file record that waits for no job (left
// by an older tilesyncd) look new to the syncer, so that the next scan
// reads the file again and queues or skips it. It returns how many it
// repaired.
func (s *Store) RepairPending() (int, error) {
	found := false // look first: a start with nothing to mend writes nothing
	if err := s.view(func(tx *bolt.Tx) error {
		return orphans(tx, func(FileRecord) error { found = true; return errStop })
	}); err != nil && !errors.Is(err, errStop) {
		return 0, fmt.Errorf("repair pending file records: %w", err)
	}
	if !found {
		return 0, nil
	}
	n := 0
	err := s.write(func(t *txn) error {
		n = 0
		var recs []FileRecord
		if err := orphans(t.tx, func(rec FileRecord) error {
			recs = append(recs, rec)
			return nil
		}); err != nil {
			return err
		}
		for _, rec := range recs {
			rec.ModTime, rec.Outcome, rec.UpdatedAt = 0, "", t.now
			if err := putFile(t.b(bucketFiles), rec); err != nil {
				return err
			}
		}
		n = len(recs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("repair pending file records: %w", err)
	}
	return n, nil
}

// errStop ends an iteration early.
var errStop = errors.New("stop")
