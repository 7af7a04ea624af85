package state

import (
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

// checkPending reports pending file records that wait for no job.
func checkPending(tx *bolt.Tx, fail func(string, ...any)) {
	_ = orphans(tx, func(rec FileRecord) error {
		fail("file %s is pending for %s %s, which no job sends", rec.Key, rec.Tileset, short(rec.SHA256))
		return nil
	})
}

// RepairPending makes every pending file record that waits for no job (left
// by an older tilesyncd) look new to the syncer, so that the next scan
// reads the file again and queues or skips it. It returns how many it
// repaired.
func (s *Store) RepairPending() (int, error) {
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
