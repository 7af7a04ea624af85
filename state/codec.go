package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Records are JSON (readable with `bbolt get`, tolerant of added fields);
// keys are built for ordered prefix scans: big-endian sequence numbers, and
// NUL-separated names (NUL cannot occur in paths or tileset IDs).

func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

func validName(what, s string) error {
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q: %w", what, s, ErrInvalidKey)
	}
	return nil
}

func (k FileKey) validate() error {
	if err := validName("watch folder", k.Watch); err != nil {
		return err
	}
	return validName("path", k.Path)
}

// fileKey is watch + NUL + path.
func fileKey(k FileKey) []byte {
	b := make([]byte, 0, len(k.Watch)+1+len(k.Path))
	b = append(b, k.Watch...)
	b = append(b, 0)
	return append(b, k.Path...)
}

func parseFileKey(b []byte) (FileKey, error) {
	watch, path, ok := bytes.Cut(b, []byte{0})
	if !ok || len(watch) == 0 || len(path) == 0 {
		return FileKey{}, fmt.Errorf("malformed file key %q", b)
	}
	return FileKey{Watch: string(watch), Path: string(path)}, nil
}

// watchPrefix is the prefix of every file key under a watch folder.
func watchPrefix(watch string) []byte { return append([]byte(watch), 0) }

// nameSeqKey is name + NUL + 8-byte sequence; name may itself contain NULs
// (a file key), the sequence is always the last 8 bytes.
func nameSeqKey(name []byte, seq uint64) []byte {
	b := make([]byte, 0, len(name)+9)
	b = append(b, name...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, seq)
}

func namePrefix(name []byte) []byte { return append(append([]byte{}, name...), 0) }

func splitNameSeq(k []byte) (name []byte, seq uint64, ok bool) {
	if len(k) < 10 || k[len(k)-9] != 0 {
		return nil, 0, false
	}
	return k[:len(k)-9], u64(k[len(k)-8:]), true
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode record %q: %w", key, err)
	}
	return true, nil
}

// forPrefix calls fn for every key/value whose key starts with prefix, in
// key order. fn must not modify the bucket; collect keys to delete instead.
func forPrefix(b *bolt.Bucket, prefix []byte, fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}
