package state

import (
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The paused watch folders: the folders whose files the sender does not
// start sending until they are resumed (`tilesyncd pause`, the status
// page). They are kept so that a pause survives a restart, under one key
// of the meta bucket:
//
//	meta   "paused" → JSON array of watch folder paths (FileKey.Watch), sorted
//
// No key means nothing is paused. An older tilesyncd ignores the key, so it
// needs no new schema.

var keyPaused = []byte("paused")

// PausedFolders returns the watch folders recorded as paused, sorted.
func (s *Store) PausedFolders() ([]string, error) {
	var folders []string
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		folders, err = readPaused(tx)
		return err
	})
	return folders, err
}

// SetPausedFolders records folders as the paused watch folders, replacing
// the set; none removes the record.
func (s *Store) SetPausedFolders(folders []string) error {
	folders = slices.Clone(folders)
	slices.Sort(folders)
	folders = slices.Compact(folders)
	for _, f := range folders {
		if err := validName("paused folder", f); err != nil {
			return err
		}
	}
	return s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if len(folders) == 0 {
			return meta.Delete(keyPaused)
		}
		v, err := json.Marshal(folders)
		if err != nil {
			return err
		}
		return meta.Put(keyPaused, v)
	})
}

// readPaused decodes the paused folders' record.
func readPaused(tx *bolt.Tx) ([]string, error) {
	v := tx.Bucket(bucketMeta).Get(keyPaused)
	if v == nil {
		return nil, nil
	}
	var folders []string
	if err := json.Unmarshal(v, &folders); err != nil {
		return nil, fmt.Errorf("the paused folders' record (meta %q): %w", keyPaused, err)
	}
	return folders, nil
}

// checkPaused reports a paused folders' record that does not decode (Check).
func checkPaused(tx *bolt.Tx, fail func(string, ...any)) {
	if _, err := readPaused(tx); err != nil {
		fail("%v", err)
	}
}
