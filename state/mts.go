package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"path/filepath"
)

// ErrContentChanged: the file of a job no longer gives the job's content
// (intake found it so while making what the job sends).
var ErrContentChanged = errors.New("the file no longer holds the job's content")

// TargetMTS is Job.Target for a job sent through the Mapbox Tiling
// Service; the zero Target is the Uploads API's.
const TargetMTS = "mts"

// MTSContentHash is the content hash of an MTS job: of its converted bytes
// (their hex SHA-256) and of the recipe they are published with. It is
// what "unchanged" compares: the same bytes under another recipe are new
// content (a publish), the same bytes and recipe are not (each publish is
// billed).
func MTSContentHash(convertedSHA256 string, recipe []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "tilesyncd mts v1\n%s\n%d\n", convertedSHA256, len(recipe))
	h.Write(recipe)
	return hex.EncodeToString(h.Sum(nil))
}

// RecipeHash is the hex SHA-256 of a rendered recipe (TilesetRecord.Recipe).
func RecipeHash(recipe []byte) string {
	sum := sha256.Sum256(recipe)
	return hex.EncodeToString(sum[:])
}

// recipeHashOf is RecipeHash of an MTS job's recipe, "" for another job.
func recipeHashOf(j Job) string {
	if j.Target != TargetMTS {
		return ""
	}
	return RecipeHash(j.Recipe)
}

// MTSFinished records what Mapbox reported of a processing MTS job that
// succeeded (its compute units and warnings), before Done moves them to the
// history.
func (s *Store) MTSFinished(id uint64, cu float64, warnings []string) (Job, error) {
	return s.transition(id, "record job result", []Stage{StageProcessing}, func(_ *txn, j *Job) error {
		j.CU, j.Warnings = cu, warnings
		return nil
	})
}

// Follow makes a processing MTS job wait for another publish job, jobID,
// created at created: Mapbox superseded the job's own publish with a newer
// one of the tileset, which reads the same source and so covers the job's
// content. The superseded publish stays in the history (so that recovery
// never takes it for a new one).
func (s *Store) Follow(id uint64, jobID string, created time.Time, reason string) (Job, error) {
	return s.transition(id, "follow job", []Stage{StageProcessing}, func(t *txn, j *Job) error {
		if jobID == "" || jobID == j.UploadID {
			return fmt.Errorf("follow job %q: %w", jobID, ErrInvalidTransition)
		}
		if err := t.addHistory(HistoryEntry{Tileset: j.Tileset, Source: j.Source, SHA256: j.SHA256, UploadID: j.UploadID,
			JobID: j.ID, Outcome: OutcomeSuperseded, Message: reason, Target: j.Target}); err != nil {
			return err
		}
		j.UploadID, j.UploadCreatedAt, j.Progress, j.ProgressAt = jobID, created, 0, time.Time{}
		return nil
	})
}

// ExpectedRecipe returns the hex SHA-256 of the recipe tileset will hold
// once its queue drains: that of its newest job (failed ones included: a
// recipe changed since a failure is worth sending again), else that of its
// last publish; "" when that job or upload is the Uploads API's. ok is
// false when the tileset has neither, or was adopted (tilesyncd adopt
// records no recipe: the adoption is trusted). Intake reads a file again,
// however unchanged, when this is not its rule's recipe (or its rule's
// target changed).
func (s *Store) ExpectedRecipe(tileset string) (hash string, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		var newest *Job
		if err := forPrefix(tx.Bucket(bucketJobsByTS), namePrefix([]byte(tileset)), func(k, _ []byte) error {
			_, id, ok := splitNameSeq(k)
			if !ok {
				return nil
			}
			var j Job
			found, err := getJSON(tx.Bucket(bucketJobs), seqKey(id), &j)
			if err == nil && found && (newest == nil || j.ID > newest.ID) {
				newest = &j
			}
			return err
		}); err != nil {
			return err
		}
		if newest != nil {
			hash, ok = recipeHashOf(*newest), true
			return nil
		}
		var ts TilesetRecord
		found, err := getJSON(tx.Bucket(bucketTilesets), []byte(tileset), &ts)
		hash, ok = ts.Recipe, found && ts.UploadID != AdoptedUploadID
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("expected recipe of %s: %w", tileset, err)
	}
	return hash, ok, nil
}

// AdoptedUploadID is the upload ID of a tileset record `tilesyncd adopt` made.
const AdoptedUploadID = "adopted"

// MTSIndexDir is the folder beside the state database at statePath that
// holds the per-feature indexes of published MTS content, for changesets.
func MTSIndexDir(statePath string) string {
	return filepath.Join(filepath.Dir(statePath), "mts-index")
}

// MTSIndexPath is the index of content sha (a job's SHA256) of tileset.
func MTSIndexPath(statePath, tileset, sha string) string {
	return filepath.Join(MTSIndexDir(statePath), tileset+"."+sha+".idx")
}
