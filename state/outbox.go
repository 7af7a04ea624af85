package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The notification outbox: the messages package notify must still deliver,
// kept until they are delivered, so that neither a crash nor an endpoint's
// outage loses one.
//
//	outbox   target NUL uint64 seq (bucket sequence) → OutboxEntry
//
// A target is the caller's name for an endpoint (notify uses a hash of its
// URL: the URL may hold credentials and stays out of the file). Keys put
// each target's entries together, oldest first.
//
// The bucket is made by the first OutboxAdd. A file without it (written
// before the outbox existed, or by a daemon that never notified) has an
// empty outbox, and an older tilesyncd ignores the bucket; so the outbox
// needs no new schema, and a read-only Open of any file works. Check
// checks the entries when the bucket exists.

// OutboxEntry is one message waiting for delivery to one target.
type OutboxEntry struct {
	// Seq orders the entries (the bucket's sequence; set by OutboxAdd).
	Seq    uint64 `json:"seq"`
	Target string `json:"target"`
	// Payload is the message, JSON, as the caller encoded it. It must hold
	// no secret: the file is private, but not secret storage.
	Payload json.RawMessage `json:"payload"`
	Added   time.Time       `json:"added"`
	// Attempts that failed, and the last one's error.
	Attempts  int    `json:"attempts,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// maxOutboxError bounds OutboxEntry.LastError, in bytes.
const maxOutboxError = 500

// OutboxAdd stores payload once for each target, in one transaction. With
// limit > 0 a target keeps at most limit entries: when it holds that many
// already, its oldest are deleted to make room, and returned. It fails
// with ErrInvalidKey for an empty target or one with a NUL, and for a
// payload that is not JSON.
func (s *Store) OutboxAdd(targets []string, payload []byte, limit int) (dropped []OutboxEntry, err error) {
	for _, t := range targets {
		if err := validName("outbox target", t); err != nil {
			return nil, err
		}
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("outbox payload is not JSON: %w", ErrInvalidKey)
	}
	err = s.write(func(t *txn) error {
		b, err := t.tx.CreateBucketIfNotExists(bucketOutbox)
		if err != nil {
			return err
		}
		for _, target := range targets {
			if limit > 0 {
				old, err := dropOldest(b, target, limit-1)
				if err != nil {
					return err
				}
				dropped = append(dropped, old...)
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			e := OutboxEntry{Seq: seq, Target: target, Payload: payload, Added: t.now}
			if err := putJSON(b, nameSeqKey([]byte(target), seq), e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox add: %w", err)
	}
	return dropped, nil
}

// dropOldest deletes target's oldest entries beyond keep, and returns them.
// It reads the target's keys: a cost proportional to the entries waiting.
func dropOldest(b *bolt.Bucket, target string, keep int) ([]OutboxEntry, error) {
	var keys [][]byte
	_ = forPrefix(b, namePrefix([]byte(target)), func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	})
	var dropped []OutboxEntry
	for len(keys) > keep {
		var e OutboxEntry
		if _, err := getJSON(b, keys[0], &e); err != nil {
			return nil, err
		}
		if err := b.Delete(keys[0]); err != nil {
			return nil, err
		}
		dropped = append(dropped, e)
		keys = keys[1:]
	}
	return dropped, nil
}

// OutboxPending returns target's oldest n entries (all with n <= 0),
// oldest first.
func (s *Store) OutboxPending(target string, n int) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		return forPrefix(b, namePrefix([]byte(target)), func(k, v []byte) error {
			if n > 0 && len(out) == n {
				return errStop
			}
			var e OutboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode outbox entry %q: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox of %s: %w", target, err)
	}
	return out, nil
}

// OutboxDelete removes a delivered entry. An entry already gone is not an
// error.
func (s *Store) OutboxDelete(target string, seq uint64) error {
	err := s.write(func(t *txn) error {
		b := t.b(bucketOutbox)
		if b == nil {
			return nil
		}
		return b.Delete(nameSeqKey([]byte(target), seq))
	})
	if err != nil {
		return fmt.Errorf("outbox delete %s/%d: %w", target, seq, err)
	}
	return nil
}

// OutboxFailed records a failed attempt to deliver an entry: one more
// attempt, and msg (cut to 500 bytes) as the last error. An entry already
// gone is not an error.
func (s *Store) OutboxFailed(target string, seq uint64, msg string) error {
	if len(msg) > maxOutboxError {
		msg = truncateUTF8(msg, maxOutboxError)
	}
	err := s.write(func(t *txn) error {
		b := t.b(bucketOutbox)
		if b == nil {
			return nil
		}
		key := nameSeqKey([]byte(target), seq)
		var e OutboxEntry
		ok, err := getJSON(b, key, &e)
		if err != nil || !ok {
			return err
		}
		e.Attempts++
		e.LastError = msg
		return putJSON(b, key, e)
	})
	if err != nil {
		return fmt.Errorf("outbox failed %s/%d: %w", target, seq, err)
	}
	return nil
}

// truncateUTF8 cuts s to at most n bytes, not inside a character.
func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// OutboxCounts returns the number of entries waiting per target.
func (s *Store) OutboxCounts() (map[string]int, error) {
	counts := map[string]int{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			name, _, ok := splitNameSeq(k)
			if !ok {
				return fmt.Errorf("outbox key %q malformed", k)
			}
			counts[string(name)]++
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox counts: %w", err)
	}
	return counts, nil
}

// OutboxDrop removes every entry of target (an endpoint no longer
// configured) and returns how many there were.
func (s *Store) OutboxDrop(target string) (int, error) {
	n := 0
	err := s.write(func(t *txn) error {
		n = 0
		b := t.b(bucketOutbox)
		if b == nil {
			return nil
		}
		old, err := dropOldest(b, target, 0)
		n = len(old)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("outbox drop %s: %w", target, err)
	}
	return n, nil
}

// checkOutbox checks the outbox's entries, when it exists: keys are
// target NUL seq with seq within the bucket's sequence, and each entry
// decodes, says the same target and seq, and holds a JSON payload.
func checkOutbox(tx *bolt.Tx, fail func(string, ...any)) {
	b := tx.Bucket(bucketOutbox)
	if b == nil {
		return
	}
	_ = b.ForEach(func(k, v []byte) error {
		name, seq, ok := splitNameSeq(k)
		if !ok || len(name) == 0 {
			fail("outbox key %q malformed", k)
			return nil
		}
		if seq == 0 || seq > b.Sequence() {
			fail("outbox key %q: sequence %d beyond the bucket's %d", k, seq, b.Sequence())
		}
		var e OutboxEntry
		if err := json.Unmarshal(v, &e); err != nil {
			fail("outbox %q: %v", k, err)
			return nil
		}
		if e.Seq != seq || e.Target != string(name) || !json.Valid(e.Payload) {
			fail("outbox %q holds entry %d of %q (payload valid: %v)", k, e.Seq, e.Target, json.Valid(e.Payload))
		}
		return nil
	})
}
