package state

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the store's own invariants in one read transaction and
// returns every violation found (joined), or nil:
//   - the schema version is current and every bucket exists;
//   - every job decodes, is stored under its ID, has a valid stage with the
//     fields that stage needs, and an ID not above the queue's sequence;
//   - the jobs_by_tileset index lists exactly the jobs, with their stages;
//   - no tileset has more than one job in flight, queued, or failed;
//   - file, tileset and history records decode (all of them: `status`
//     reads the global history, the daemon the others). (History limits are not
//     checked: a smaller limit in a new configuration applies from the next
//     append on, it does not make an older file invalid.)
//   - the notification outbox, when it exists, holds well-formed entries
//     (outbox.go);
//   - the paused folders' record, when it exists, decodes (paused.go).
//
// Open runs it (a violation there is ErrCorrupt); tests run it after every
// scenario. It reads the whole database.
func (s *Store) Check() error {
	var errs []error
	fail := func(format string, a ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	err := s.view(func(tx *bolt.Tx) error {
		for _, name := range allBucketsCurrent {
			if tx.Bucket(name) == nil {
				fail("bucket %s missing", name)
			}
		}
		if len(errs) > 0 {
			return nil
		}
		if v := tx.Bucket(bucketMeta).Get(keySchema); len(v) != 8 || u64(v) != SchemaVersion {
			fail("schema version %x, want %d", v, SchemaVersion)
		}
		checkJobs(tx, fail)
		checkRecords(tx, fail)
		checkOutbox(tx, fail)
		checkPaused(tx, fail)
		return nil
	})
	if err != nil {
		return fmt.Errorf("check %s: %w", s.path, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("check %s: %w", s.path, errors.Join(errs...))
	}
	return nil
}

type perTileset struct{ inFlight, queued, failed int }

func checkJobs(tx *bolt.Tx, fail func(string, ...any)) {
	jobs := tx.Bucket(bucketJobs)
	seq := jobs.Sequence()
	stages := map[string]Stage{} // index key → stage, from the jobs
	tilesets := map[string]*perTileset{}
	_ = jobs.ForEach(func(k, v []byte) error {
		var j Job
		if len(k) != 8 {
			fail("job key %x is not 8 bytes", k)
			return nil
		}
		if err := json.Unmarshal(v, &j); err != nil {
			fail("job %d: %v", u64(k), err)
			return nil
		}
		if j.ID != u64(k) || j.ID == 0 || j.ID > seq {
			fail("job %d stored under %d (sequence %d)", j.ID, u64(k), seq)
		}
		if err := j.validate(); err != nil {
			fail("job %d: %v", j.ID, err)
		}
		stages[string(nameSeqKey([]byte(j.Tileset), j.ID))] = j.Stage
		pt := tilesets[j.Tileset]
		if pt == nil {
			pt = &perTileset{}
			tilesets[j.Tileset] = pt
		}
		switch {
		case j.Stage.InFlight():
			pt.inFlight++
		case j.Stage == StageQueued:
			pt.queued++
		case j.Stage == StageFailed:
			pt.failed++
		}
		return nil
	})
	for ts, pt := range tilesets {
		if pt.inFlight > 1 || pt.queued > 1 || pt.failed > 1 {
			fail("tileset %s has %d jobs in flight, %d queued, %d failed", ts, pt.inFlight, pt.queued, pt.failed)
		}
	}
	n := 0
	_ = tx.Bucket(bucketJobsByTS).ForEach(func(k, v []byte) error {
		n++
		st, ok := stages[string(k)]
		switch {
		case !ok:
			fail("index entry %q has no job", k)
		case len(v) != 1 || Stage(v[0]) != st:
			fail("index entry %q says stage %v, job is %s", k, v, st)
		}
		return nil
	})
	if n != len(stages) {
		fail("index has %d entries for %d jobs", n, len(stages))
	}
}

// validate checks that a stored job has what its stage needs.
func (j Job) validate() error {
	if !j.Stage.Valid() {
		return fmt.Errorf("stage %s", j.Stage)
	}
	if j.Tileset == "" || j.SHA256 == "" || j.Source.validate() != nil {
		return errors.New("missing tileset, hash or source")
	}
	stage := j.Stage
	if stage == StageRetryWait {
		if j.RetryFrom != StageStaging && j.RetryFrom != StageStaged && j.RetryFrom != StageProcessing {
			return fmt.Errorf("retry-wait resumes at %s", j.RetryFrom)
		}
		stage = j.RetryFrom
	} else if j.RetryFrom != 0 {
		return fmt.Errorf("%s job has retry_from %s", j.Stage, j.RetryFrom)
	}
	if (stage == StageStaged || stage == StageProcessing) && j.StagedSHA256 != j.SHA256 {
		return fmt.Errorf("%s with staged hash %q", stage, j.StagedSHA256)
	}
	if stage == StageProcessing && j.UploadID == "" {
		return errors.New("processing without an upload ID")
	}
	if stage == StageQueued && (j.UploadID != "" || j.Multipart != nil || j.Credentials != nil) {
		return errors.New("queued job carries resume data")
	}
	return nil
}

func checkRecords(tx *bolt.Tx, fail func(string, ...any)) {
	_ = tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
		if _, err := parseFileKey(k); err != nil {
			fail("%v", err)
		}
		if _, err := decodeFileRecord(v); err != nil {
			fail("file %q: %v", k, err)
		}
		return nil
	})
	_ = tx.Bucket(bucketTilesets).ForEach(func(k, v []byte) error {
		var rec TilesetRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			fail("tileset %q: %v", k, err)
		}
		return nil
	})
	hist := tx.Bucket(bucketHistory)
	_ = hist.ForEach(func(k, v []byte) error {
		if len(k) != 8 || u64(k) > hist.Sequence() {
			fail("history key %x (sequence %d)", k, hist.Sequence())
		}
		var e HistoryEntry
		if err := json.Unmarshal(v, &e); err != nil {
			fail("history %x: %v", k, err)
		}
		return nil
	})
	for _, name := range [][]byte{bucketHistByTS, bucketHistByFile} {
		_ = tx.Bucket(name).ForEach(func(k, v []byte) error {
			if _, _, ok := splitNameSeq(k); !ok {
				fail("%s key %q malformed", name, k)
				return nil
			}
			var e HistoryEntry
			if err := json.Unmarshal(v, &e); err != nil {
				fail("%s %q: %v", name, k, err)
			}
			return nil
		})
	}
}
