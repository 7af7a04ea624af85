package state

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Job returns a job by ID; ok is false if it is not in the queue (finished,
// cancelled, superseded, or unknown).
func (s *Store) Job(id uint64) (j Job, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		ok, err = getJSON(tx.Bucket(bucketJobs), seqKey(id), &j)
		return err
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("read job %d: %w", id, err)
	}
	return j, ok, nil
}

// JobFilter selects jobs; the zero filter selects all.
type JobFilter struct {
	Stages  []Stage // any of these; all if empty
	Tileset string  // only this tileset if not empty
	Source  FileKey // only jobs of this file if not zero (`retry PATH`)
}

func (f JobFilter) match(j Job) bool {
	return (len(f.Stages) == 0 || slices.Contains(f.Stages, j.Stage)) &&
		(f.Tileset == "" || f.Tileset == j.Tileset) &&
		(f.Source == FileKey{} || f.Source == j.Source)
}

// Jobs calls fn for every job matching f, in queue order, inside one read
// transaction (fn must not write to the store).
func (s *Store) Jobs(f JobFilter, fn func(Job) error) error {
	return s.view(func(tx *bolt.Tx) error {
		return eachJob(tx, func(j Job) error {
			if f.match(j) {
				return fn(j)
			}
			return nil
		})
	})
}

func eachJob(tx *bolt.Tx, fn func(Job) error) error {
	return tx.Bucket(bucketJobs).ForEach(func(k, v []byte) error {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("decode job %x: %w", k, err)
		}
		return fn(j)
	})
}

// ListJobs returns the jobs matching f in queue order.
func (s *Store) ListJobs(f JobFilter) ([]Job, error) {
	var out []Job
	err := s.Jobs(f, func(j Job) error { out = append(out, j); return nil })
	return out, err
}

// Failed returns the permanently failed jobs.
func (s *Store) Failed() ([]Job, error) {
	return s.ListJobs(JobFilter{Stages: []Stage{StageFailed}})
}

// InFlight returns the jobs in staging, staged or processing: after a
// restart, the work to resume (retry-wait jobs come from Next when due).
func (s *Store) InFlight() ([]Job, error) {
	return s.ListJobs(JobFilter{Stages: []Stage{StageStaging, StageStaged, StageProcessing}})
}

// Next returns up to n jobs that may be worked on at now, in queue order:
// queued jobs whose tileset has nothing in flight (those the caller then
// moves with StartStaging), and retry-wait jobs whose NextAttempt has passed
// (moved with Resume). It reads only as far into the queue as it must.
func (s *Store) Next(now time.Time, n int) ([]Job, error) {
	return s.NextDue(n, func(j Job) bool { return j.Stage == StageQueued || !j.NextAttempt.After(now) })
}

// NextDue is Next with the caller deciding which jobs may start: due is
// asked about each retry-wait job and each queued job whose tileset has
// nothing in flight (the syncer keeps retry deadlines on the monotonic
// clock, and holds the jobs of paused folders); a job it refuses does not
// count toward n.
func (s *Store) NextDue(n int, due func(Job) bool) ([]Job, error) {
	var out []Job
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJobs).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decode job %x: %w", k, err)
			}
			switch j.Stage {
			case StageRetryWait:
				if due(j) {
					out = append(out, j)
				}
			case StageQueued:
				if !tilesetBusy(tx, j.Tileset) && due(j) {
					out = append(out, j)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("next jobs: %w", err)
	}
	return out, nil
}

// tilesetBusy reports whether a tileset has a job in flight, from the index.
func tilesetBusy(tx *bolt.Tx, tileset string) bool {
	busy := false
	_ = forPrefix(tx.Bucket(bucketJobsByTS), namePrefix([]byte(tileset)), func(_, v []byte) error {
		if len(v) == 1 && Stage(v[0]).InFlight() {
			busy = true
		}
		return nil
	})
	return busy
}

// NextWake returns the earliest NextAttempt of the retry-wait jobs; ok is
// false if none waits. The syncer sleeps until then when Next is empty.
func (s *Store) NextWake() (t time.Time, ok bool, err error) {
	err = s.Jobs(JobFilter{Stages: []Stage{StageRetryWait}}, func(j Job) error {
		if !ok || j.NextAttempt.Before(t) {
			t, ok = j.NextAttempt, true
		}
		return nil
	})
	return t, ok, err
}

// Counts returns how many jobs are in each stage, from the index alone.
func (s *Store) Counts() (map[Stage]int, error) {
	counts := make(map[Stage]int)
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobsByTS).ForEach(func(_, v []byte) error {
			if len(v) == 1 {
				counts[Stage(v[0])]++
			}
			return nil
		})
	})
	return counts, err
}

// RecentHistory returns up to n history entries, newest first.
func (s *Store) RecentHistory(n int) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHistory).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			var e HistoryEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode history %x: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// TilesetHistory returns a tileset's history, newest first.
func (s *Store) TilesetHistory(tileset string) ([]HistoryEntry, error) {
	return s.historyOf(bucketHistByTS, []byte(tileset))
}

// FileHistory returns a file's history, newest first.
func (s *Store) FileHistory(key FileKey) ([]HistoryEntry, error) {
	return s.historyOf(bucketHistByFile, fileKey(key))
}

func (s *Store) historyOf(bucket, name []byte) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := s.view(func(tx *bolt.Tx) error {
		return forPrefix(tx.Bucket(bucket), namePrefix(name), func(k, v []byte) error {
			if len(k) != len(name)+9 {
				return nil
			}
			var e HistoryEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode history %q: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	slices.Reverse(out)
	return out, err
}

// Snapshot is the state `tilesyncd status` shows; it encodes as JSON for the
// daemon's control endpoint. Credentials are removed from its jobs.
type Snapshot struct {
	Taken    time.Time      `json:"taken"`
	Path     string         `json:"path"`
	Bytes    int64          `json:"bytes"` // database file size
	Files    int            `json:"files"`
	Tilesets int            `json:"tilesets"`
	Counts   map[string]int `json:"counts"` // jobs per stage name
	Active   []Job          `json:"active"` // every job not queued, queue order
	Queued   []Job          `json:"queued"` // the first queued jobs (at most the limit asked)
	Recent   []HistoryEntry `json:"recent"` // newest first
	Refused  []FileRecord   `json:"refused,omitempty"`
}

// Snapshot reads the status in one read transaction: counts, every active
// (non-queued) job, up to limit queued jobs and history entries, and the
// refused files. It walks the file index once to count and find refusals.
func (s *Store) Snapshot(limit int) (Snapshot, error) {
	snap := Snapshot{Taken: s.now(), Path: s.path, Counts: map[string]int{}}
	err := s.view(func(tx *bolt.Tx) error {
		snap.Bytes = tx.Size()
		snap.Tilesets = tx.Bucket(bucketTilesets).Stats().KeyN
		err := eachJob(tx, func(j Job) error {
			snap.Counts[j.Stage.String()]++
			j.Credentials = nil
			if j.Stage != StageQueued {
				snap.Active = append(snap.Active, j)
			} else if len(snap.Queued) < limit {
				snap.Queued = append(snap.Queued, j)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
			snap.Files++
			rec, err := decodeFileRecord(v)
			if err != nil {
				return fmt.Errorf("decode file %q: %w", k, err)
			}
			if rec.Outcome == OutcomeRefused {
				rec.Key, _ = parseFileKey(k)
				snap.Refused = append(snap.Refused, rec)
			}
			return nil
		})
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	snap.Recent, err = s.RecentHistory(limit)
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	if fi, err := os.Stat(s.path); err == nil {
		snap.Bytes = fi.Size()
	}
	return snap, nil
}
