package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// filesFillPercent is how full bbolt packs the file index's pages when it
// splits them (bbolt's default is 0.5).
const filesFillPercent = 0.9

// PutFile stores a file's record (replacing the earlier one), setting its
// UpdatedAt. It adds no history: use RecordOutcome for an outcome worth
// listing (refused, unchanged after hashing, …).
func (s *Store) PutFile(rec FileRecord) error {
	return s.PutFiles([]FileRecord{rec})
}

// PutFiles stores many file records in one transaction: a scan records its
// findings in batches (about 1,000 a batch) rather than one fsync per file.
func (s *Store) PutFiles(recs []FileRecord) error {
	for _, r := range recs {
		if err := r.Key.validate(); err != nil {
			return fmt.Errorf("put file: %w", err)
		}
	}
	err := s.write(func(t *txn) error {
		files := t.b(bucketFiles)
		// Scans insert in path order within a folder but folders and
		// rescans interleave: fuller pages halve the file (see the benchmark).
		files.FillPercent = filesFillPercent
		for _, r := range recs {
			r.UpdatedAt = t.now
			if err := putFile(files, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put %d file records: %w", len(recs), err)
	}
	return nil
}

// RecordOutcome stores a file's record and appends a history entry for its
// outcome (rec.Outcome, with rec.Reason as the message), in one transaction.
func (s *Store) RecordOutcome(rec FileRecord) error {
	if err := rec.Key.validate(); err != nil {
		return fmt.Errorf("record outcome: %w", err)
	}
	err := s.write(func(t *txn) error {
		rec.UpdatedAt = t.now
		if err := putFile(t.b(bucketFiles), rec); err != nil {
			return err
		}
		return t.addHistory(HistoryEntry{Tileset: rec.Tileset, Source: rec.Key, SHA256: rec.SHA256,
			Outcome: rec.Outcome, Message: rec.Reason})
	})
	if err != nil {
		return fmt.Errorf("record outcome of %s: %w", rec.Key, err)
	}
	return nil
}

// File returns a file's record; ok is false if the store has none.
func (s *Store) File(key FileKey) (rec FileRecord, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		rec, ok, err = getFile(tx.Bucket(bucketFiles), key)
		return err
	})
	if err != nil {
		return FileRecord{}, false, fmt.Errorf("read file %s: %w", key, err)
	}
	return rec, ok, nil
}

// Files calls fn for every file of a watch folder in path order (all files
// if watch is empty), inside one read transaction: fn must not write to the
// store. An error from fn stops the iteration and is returned.
func (s *Store) Files(watch string, fn func(FileRecord) error) error {
	var prefix []byte
	if watch != "" {
		prefix = watchPrefix(watch)
	}
	return s.view(func(tx *bolt.Tx) error {
		return forPrefix(tx.Bucket(bucketFiles), prefix, func(k, v []byte) error {
			key, err := parseFileKey(k)
			if err != nil {
				return err
			}
			rec, err := decodeFileRecord(v)
			if err != nil {
				return fmt.Errorf("decode file %s: %w", key, err)
			}
			rec.Key = key
			return fn(rec)
		})
	})
}

// RemoveFile forgets a file that no longer exists: its record and its
// per-file history. Jobs already queued for its content are left alone.
func (s *Store) RemoveFile(key FileKey) error {
	err := s.write(func(t *txn) error { return t.removeFile(key) })
	if err != nil {
		return fmt.Errorf("remove file %s: %w", key, err)
	}
	return nil
}

func (t *txn) removeFile(key FileKey) error {
	if err := t.b(bucketFiles).Delete(fileKey(key)); err != nil {
		return err
	}
	hist := t.b(bucketHistByFile)
	var keys [][]byte
	_ = forPrefix(hist, namePrefix(fileKey(key)), func(k, _ []byte) error {
		if len(k) == len(fileKey(key))+9 {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range keys {
		if err := hist.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ForgetFile is the `forget` command, "send it again": it removes the file's
// record and, if its tileset's last upload is this file's content, the
// tileset's record too (so Unchanged no longer matches), and drops a failed
// job of that content. The next scan hashes and queues the file afresh.
func (s *Store) ForgetFile(key FileKey) error {
	err := s.write(func(t *txn) error {
		rec, ok, err := getFile(t.b(bucketFiles), key)
		if err != nil || !ok {
			return err
		}
		if rec.Tileset != "" {
			var ts TilesetRecord
			found, err := getJSON(t.b(bucketTilesets), []byte(rec.Tileset), &ts)
			if err != nil {
				return err
			}
			if found && ts.SHA256 == rec.SHA256 {
				if err := t.b(bucketTilesets).Delete([]byte(rec.Tileset)); err != nil {
					return err
				}
			}
			jobs, err := t.tilesetJobs(rec.Tileset)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				if j.Stage == StageFailed && j.SHA256 == rec.SHA256 {
					if err := t.deleteJob(j); err != nil {
						return err
					}
				}
			}
		}
		return t.removeFile(key)
	})
	if err != nil {
		return fmt.Errorf("forget %s: %w", key, err)
	}
	return nil
}

// Tileset returns the record of the content last uploaded to a tileset.
func (s *Store) Tileset(tileset string) (rec TilesetRecord, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		ok, err = getJSON(tx.Bucket(bucketTilesets), []byte(tileset), &rec)
		return err
	})
	if err != nil {
		return TilesetRecord{}, false, fmt.Errorf("read tileset %s: %w", tileset, err)
	}
	rec.Tileset = tileset
	return rec, ok, nil
}

// Unchanged reports whether sha256 is the content last uploaded to tileset.
func (s *Store) Unchanged(tileset, sha256 string) (bool, error) {
	rec, ok, err := s.Tileset(tileset)
	return ok && rec.SHA256 == sha256, err
}

// Tilesets calls fn for every tileset record in ID order.
func (s *Store) Tilesets(fn func(TilesetRecord) error) error {
	return s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTilesets).ForEach(func(k, v []byte) error {
			var rec TilesetRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode tileset %s: %w", k, err)
			}
			rec.Tileset = string(k)
			return fn(rec)
		})
	})
}

// Adopt records rec's content as what its tileset already holds, without an
// upload: the `adopt` command, for a folder whose tilesets are known to be
// current (after the state database was lost or moved aside, or when
// tilesyncd takes over a folder someone uploaded by hand). In one
// transaction it sets the tileset record (upload ID "adopted"), stores the
// file record with outcome unchanged, and appends history. A tileset with a
// job queued or in flight is left alone (ErrInvalidTransition).
func (s *Store) Adopt(rec FileRecord) error {
	if err := rec.Key.validate(); err != nil {
		return fmt.Errorf("adopt: %w", err)
	}
	if err := validName("tileset", rec.Tileset); err != nil || rec.SHA256 == "" {
		return fmt.Errorf("adopt %s: a tileset and a content hash are needed: %w", rec.Key, ErrInvalidKey)
	}
	err := s.write(func(t *txn) error {
		jobs, err := t.tilesetJobs(rec.Tileset)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.Stage != StageFailed {
				return fmt.Errorf("tileset %s has job %d %s: %w", rec.Tileset, j.ID, j.Stage, ErrInvalidTransition)
			}
		}
		ts := TilesetRecord{SHA256: rec.SHA256, UploadID: AdoptedUploadID, Time: t.now, Source: rec.Key}
		if err := putJSON(t.b(bucketTilesets), []byte(rec.Tileset), ts); err != nil {
			return err
		}
		rec.Outcome, rec.Reason, rec.UpdatedAt = OutcomeUnchanged, "adopted", t.now
		if err := putFile(t.b(bucketFiles), rec); err != nil {
			return err
		}
		return t.addHistory(HistoryEntry{Tileset: rec.Tileset, Source: rec.Key, SHA256: rec.SHA256,
			Outcome: OutcomeUnchanged, Message: "adopted: recorded as what the tileset holds, not uploaded"})
	})
	if err != nil {
		return fmt.Errorf("adopt %s: %w", rec.Key, err)
	}
	return nil
}

// Destined returns the content tileset will hold once its queue drains:
// that of its newest job queued or in flight, else of its last upload. ok
// is false when it has neither.
func (s *Store) Destined(tileset string) (sha string, ok bool, err error) {
	sha, _, ok, err = s.DestinedFrom(tileset)
	return sha, ok, err
}

// DestinedFrom is Destined with the file the content comes from: the newest
// job's source, else the source of the tileset's last upload.
func (s *Store) DestinedFrom(tileset string) (sha string, source FileKey, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		sha, source, ok = "", FileKey{}, false
		err := forPrefix(tx.Bucket(bucketJobsByTS), namePrefix([]byte(tileset)), func(k, v []byte) error {
			_, id, valid := splitNameSeq(k)
			if !valid || len(v) != 1 || Stage(v[0]) == StageFailed {
				return nil
			}
			var j Job
			found, err := getJSON(tx.Bucket(bucketJobs), seqKey(id), &j)
			if err == nil && found {
				sha, source, ok = j.SHA256, j.Source, true // keys ascend: the newest job comes last
			}
			return err
		})
		if err != nil || ok {
			return err
		}
		var rec TilesetRecord
		ok, err = getJSON(tx.Bucket(bucketTilesets), []byte(tileset), &rec)
		sha, source = rec.SHA256, rec.Source
		return err
	})
	if err != nil {
		return "", FileKey{}, false, fmt.Errorf("read what %s will hold: %w", tileset, err)
	}
	return sha, source, ok, nil
}
