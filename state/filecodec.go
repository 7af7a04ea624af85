package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// File records are stored in a compact binary form (schema 3), not JSON like
// the other records: there is one per watched file, and every Open (Check)
// and every `sync --once` decodes them all. JSON made that a third of a
// restart over 100,000 unchanged files; this form decodes in a tenth of the
// time, with one allocation. The value:
//
//	byte     form (fileRecordForm)
//	varint   size
//	varint   mtime_ns
//	string   file_id          (every string: uvarint length, then its bytes)
//	string   sha256
//	string   tileset
//	string   outcome
//	string   reason
//	varint   updated_at, Unix nanoseconds (0: the zero time)
//
// Decoding refuses an unknown form, a short value and trailing bytes, so
// Check still finds a damaged record.
const fileRecordForm = 1

func encodeFileRecord(rec FileRecord) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+5*binary.MaxVarintLen16+
		len(rec.FileID)+len(rec.SHA256)+len(rec.Tileset)+len(rec.Outcome)+len(rec.Reason))
	b = append(b, fileRecordForm)
	b = binary.AppendVarint(b, rec.Size)
	b = binary.AppendVarint(b, rec.ModTime)
	for _, s := range []string{rec.FileID, rec.SHA256, rec.Tileset, string(rec.Outcome), rec.Reason} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	var updated int64
	if !rec.UpdatedAt.IsZero() {
		updated = rec.UpdatedAt.UnixNano()
	}
	return binary.AppendVarint(b, updated)
}

var errShortRecord = errors.New("file record ends early")

// decodeFileRecord decodes a stored file record (all but its Key). The
// strings share one copy of v: bbolt's bytes are only valid inside the
// transaction.
func decodeFileRecord(v []byte) (FileRecord, error) {
	if len(v) == 0 || v[0] != fileRecordForm {
		if len(v) > 0 && v[0] == '{' {
			return FileRecord{}, errors.New("file record is JSON (schema 2), not migrated")
		}
		return FileRecord{}, fmt.Errorf("file record of unknown form (% x)", v[:min(len(v), 4)])
	}
	s := string(v[1:])
	pos := 0
	varint := func() (int64, error) {
		n, w := binary.Varint(v[1+pos:])
		if w <= 0 {
			return 0, errShortRecord
		}
		pos += w
		return n, nil
	}
	str := func() (string, error) {
		n, w := binary.Uvarint(v[1+pos:])
		if w <= 0 || n > uint64(len(s)-pos-w) {
			return "", errShortRecord
		}
		pos += w
		pos += int(n)
		return s[pos-int(n) : pos], nil
	}
	var r FileRecord
	var err error
	if r.Size, err = varint(); err != nil {
		return FileRecord{}, err
	}
	if r.ModTime, err = varint(); err != nil {
		return FileRecord{}, err
	}
	var outcome string
	for _, f := range []*string{&r.FileID, &r.SHA256, &r.Tileset, &outcome, &r.Reason} {
		if *f, err = str(); err != nil {
			return FileRecord{}, err
		}
	}
	r.Outcome = Outcome(outcome)
	updated, err := varint()
	if err != nil {
		return FileRecord{}, err
	}
	if updated != 0 {
		r.UpdatedAt = time.Unix(0, updated)
	}
	if pos != len(s) {
		return FileRecord{}, fmt.Errorf("file record has %d bytes past its end", len(s)-pos)
	}
	return r, nil
}

// putFile stores rec under its key in the files bucket b.
func putFile(b *bolt.Bucket, rec FileRecord) error {
	return b.Put(fileKey(rec.Key), encodeFileRecord(rec))
}

// getFile reads the record of key from the files bucket b.
func getFile(b *bolt.Bucket, key FileKey) (rec FileRecord, ok bool, err error) {
	v := b.Get(fileKey(key))
	if v == nil {
		return FileRecord{}, false, nil
	}
	if rec, err = decodeFileRecord(v); err != nil {
		return FileRecord{}, true, fmt.Errorf("decode file %s: %w", key, err)
	}
	rec.Key = key
	return rec, true, nil
}
