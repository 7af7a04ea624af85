package state

import (
	"encoding/json"
	"fmt"
	"log/slog"

	bolt "go.etcd.io/bbolt"
)

// Schema history:
//
//	v1 (the prototype): buckets meta, files, tilesets, jobs, history; a job's
//	   stage and retry_from were JSON numbers; the history was global only.
//	v2: stages are stored by name; the jobs_by_tileset index (tileset NUL id →
//	   stage) answers "is this tileset busy" without a scan; history is also
//	   kept per tileset and per file (history_by_tileset, history_by_file).
//	v3: file records are binary (filecodec.go), not JSON: they are the one
//	   record every open and every sync --once decodes in full.
//
// Each step runs inside the one transaction Open gives migrate, so a crash
// mid-migration leaves the old version intact.

// migrate brings the database in tx from version `from` (0: a new file) to
// SchemaVersion.
func migrate(tx *bolt.Tx, from int, log *slog.Logger) error {
	if from == 0 {
		for _, name := range allBucketsCurrent {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return setSchema(tx, SchemaVersion)
	}
	if from == 1 {
		if err := migrateV1toV2(tx); err != nil {
			return fmt.Errorf("v1 to v2: %w", err)
		}
		log.Info("state database migrated", "from", 1, "to", 2)
		from = 2
	}
	if from == 2 {
		n, err := migrateV2toV3(tx)
		if err != nil {
			return fmt.Errorf("v2 to v3: %w", err)
		}
		log.Info("state database migrated", "from", 2, "to", 3, "file_records", n)
		from = 3
	}
	if from != SchemaVersion {
		return fmt.Errorf("no migration from schema %d", from)
	}
	return nil
}

func setSchema(tx *bolt.Tx, v int) error {
	return tx.Bucket(bucketMeta).Put(keySchema, seqKey(uint64(v)))
}

// jobV1 is a v1 job record: the v2 fields, with numeric stages.
type jobV1 struct {
	Job
	Stage     int `json:"stage"`
	RetryFrom int `json:"retry_from,omitempty"`
}

func migrateV1toV2(tx *bolt.Tx) error {
	for _, name := range allBucketsCurrent {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	jobs := tx.Bucket(bucketJobs)
	byTS := tx.Bucket(bucketJobsByTS)
	var converted []Job
	err := jobs.ForEach(func(k, v []byte) error {
		var old jobV1
		if err := json.Unmarshal(v, &old); err != nil {
			return fmt.Errorf("job %x: %w", k, err)
		}
		j := old.Job
		j.Stage, j.RetryFrom = Stage(old.Stage), Stage(old.RetryFrom)
		if !j.Stage.Valid() {
			return fmt.Errorf("job %d: stage %d", j.ID, old.Stage)
		}
		converted = append(converted, j)
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range converted {
		if err := putJSON(jobs, seqKey(j.ID), j); err != nil {
			return err
		}
		if err := byTS.Put(nameSeqKey([]byte(j.Tileset), j.ID), []byte{byte(j.Stage)}); err != nil {
			return err
		}
	}
	// Spread the global history into the per-tileset and per-file logs. The
	// limits apply from the next append on.
	hist := tx.Bucket(bucketHistory)
	err = hist.ForEach(func(k, v []byte) error {
		var e HistoryEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("history %x: %w", k, err)
		}
		v = append([]byte(nil), v...)
		if e.Tileset != "" {
			if err := tx.Bucket(bucketHistByTS).Put(nameSeqKey([]byte(e.Tileset), e.Seq), v); err != nil {
				return err
			}
		}
		if e.Source.validate() == nil {
			if err := tx.Bucket(bucketHistByFile).Put(nameSeqKey(fileKey(e.Source), e.Seq), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return setSchema(tx, 2)
}

// migrateV2toV3 re-encodes every file record from JSON to the binary form.
func migrateV2toV3(tx *bolt.Tx) (int, error) {
	files := tx.Bucket(bucketFiles)
	files.FillPercent = filesFillPercent
	var recs []FileRecord // bbolt forbids writes during ForEach
	err := files.ForEach(func(k, v []byte) error {
		key, err := parseFileKey(k)
		if err != nil {
			return err
		}
		var rec FileRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("file %s: %w", key, err)
		}
		rec.Key = key
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, rec := range recs {
		if err := putFile(files, rec); err != nil {
			return 0, err
		}
	}
	return len(recs), setSchema(tx, 3)
}
