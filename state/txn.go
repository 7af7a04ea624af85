package state

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// txn bundles the buckets of one write transaction and the helpers that keep
// the records and their indexes in step. Every exported write method builds
// one txn inside one bbolt Update.
type txn struct {
	tx  *bolt.Tx
	s   *Store
	now time.Time
}

func (s *Store) write(fn func(t *txn) error) error {
	return s.update(func(tx *bolt.Tx) error {
		return fn(&txn{tx: tx, s: s, now: s.now()})
	})
}

func (t *txn) b(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

func (t *txn) job(id uint64) (Job, error) {
	var j Job
	ok, err := getJSON(t.b(bucketJobs), seqKey(id), &j)
	if err != nil {
		return Job{}, err
	}
	if !ok {
		return Job{}, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return j, nil
}

// putJob stores j and its index entry, replacing any earlier version.
func (t *txn) putJob(j Job) error {
	if !j.Stage.Valid() {
		return fmt.Errorf("store job %d in stage %s", j.ID, j.Stage)
	}
	if err := putJSON(t.b(bucketJobs), seqKey(j.ID), j); err != nil {
		return err
	}
	return t.b(bucketJobsByTS).Put(nameSeqKey([]byte(j.Tileset), j.ID), []byte{byte(j.Stage)})
}

func (t *txn) deleteJob(j Job) error {
	if err := t.b(bucketJobs).Delete(seqKey(j.ID)); err != nil {
		return err
	}
	return t.b(bucketJobsByTS).Delete(nameSeqKey([]byte(j.Tileset), j.ID))
}

// tilesetJobs returns the jobs of a tileset in queue order.
func (t *txn) tilesetJobs(tileset string) ([]Job, error) {
	var ids []uint64
	err := forPrefix(t.b(bucketJobsByTS), namePrefix([]byte(tileset)), func(k, _ []byte) error {
		_, id, ok := splitNameSeq(k)
		if !ok {
			return fmt.Errorf("malformed index key %q", k)
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	jobs := make([]Job, 0, len(ids))
	for _, id := range ids {
		j, err := t.job(id)
		if err != nil {
			return nil, fmt.Errorf("index of tileset %s: %w", tileset, err)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// addHistory appends e to the global, per-tileset and per-file logs and
// prunes each to its limit.
func (t *txn) addHistory(e HistoryEntry) error {
	hist := t.b(bucketHistory)
	seq, err := hist.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	if e.Time.IsZero() {
		e.Time = t.now
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := hist.Put(seqKey(seq), data); err != nil {
		return err
	}
	// Global keys are consecutive: drop everything at or below seq-limit.
	limit := uint64(t.s.opts.GlobalHistoryLimit)
	if seq > limit {
		c := hist.Cursor()
		for k, _ := c.First(); k != nil && u64(k) <= seq-limit; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	if e.Tileset != "" {
		if err := appendBounded(t.b(bucketHistByTS), []byte(e.Tileset), seq, data, t.s.opts.HistoryLimit); err != nil {
			return err
		}
	}
	if e.Source.validate() == nil {
		if err := appendBounded(t.b(bucketHistByFile), fileKey(e.Source), seq, data, t.s.opts.HistoryLimit); err != nil {
			return err
		}
	}
	return nil
}

// appendBounded puts data under name+seq and deletes the oldest entries of
// name beyond limit.
func appendBounded(b *bolt.Bucket, name []byte, seq uint64, data []byte, limit int) error {
	if err := b.Put(nameSeqKey(name, seq), data); err != nil {
		return err
	}
	var keys [][]byte
	_ = forPrefix(b, namePrefix(name), func(k, _ []byte) error {
		if _, _, ok := splitNameSeq(k); ok && len(k) == len(name)+9 {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	for len(keys) > limit {
		if err := b.Delete(keys[0]); err != nil {
			return err
		}
		keys = keys[1:]
	}
	return nil
}

// setFileOutcome records outcome on the files waiting for the job: its
// source, if the file still has the job's content (a newer content has its
// own job and outcome), and each joined file that still has the job's
// content for the job's tileset.
func (t *txn) setFileOutcome(j Job, outcome Outcome, reason string) error {
	files := t.b(bucketFiles)
	for i, key := range append([]FileKey{j.Source}, j.Joined...) {
		rec, ok, err := getFile(files, key)
		if err != nil {
			return err
		}
		if !ok || rec.SHA256 != j.SHA256 || (i > 0 && rec.Tileset != j.Tileset) {
			continue
		}
		rec.Outcome, rec.Reason, rec.Tileset, rec.UpdatedAt = outcome, reason, j.Tileset, t.now
		if err := putFile(files, rec); err != nil {
			return err
		}
	}
	return nil
}

// endJob removes a job that will not be sent and records why.
func (t *txn) endJob(j Job, outcome Outcome, msg string) error {
	if err := t.deleteJob(j); err != nil {
		return err
	}
	if err := t.setFileOutcome(j, outcome, ""); err != nil {
		return err
	}
	return t.addHistory(HistoryEntry{Tileset: j.Tileset, Source: j.Source, SHA256: j.SHA256, JobID: j.ID, Outcome: outcome, Message: msg})
}
