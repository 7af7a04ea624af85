package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestFileRecordRoundTrip(t *testing.T) {
	recs := []FileRecord{
		{},
		{Size: 1 << 40, ModTime: time.Date(2026, 11, 23, 8, 0, 0, 123456789, time.UTC).UnixNano(), FileID: "2049:1234567",
			SHA256: strings.Repeat("ab", 32), Tileset: "acme.roads", Outcome: OutcomeUploaded, UpdatedAt: time.Unix(1795000000, 5)},
		{Size: 0, ModTime: -1, Outcome: OutcomeRefused, Reason: `too large for GeoJSON (over 1 GB): "é" \ 😀`},
	}
	for _, want := range recs {
		got, err := decodeFileRecord(encodeFileRecord(want))
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", want, err)
		}
		if !got.UpdatedAt.Equal(want.UpdatedAt) {
			t.Errorf("UpdatedAt %v, want %v", got.UpdatedAt, want.UpdatedAt)
		}
		got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
}

// TestFileRecordDamage: every shortened value, a value with a byte more, a
// JSON (schema 2) value and an unknown form are errors, which Check turns
// into ErrCorrupt at Open.
func TestFileRecordDamage(t *testing.T) {
	v := encodeFileRecord(FileRecord{Size: 300, ModTime: 1 << 50, FileID: "1:2", SHA256: strings.Repeat("0", 64),
		Tileset: "acme.x", Outcome: OutcomeRefused, Reason: "no", UpdatedAt: time.Unix(0, 1<<60)})
	for n := range len(v) {
		if _, err := decodeFileRecord(v[:n]); err == nil {
			t.Errorf("decode of the first %d of %d bytes: no error", n, len(v))
		}
	}
	if _, err := decodeFileRecord(append(v, 0)); err == nil || !strings.Contains(err.Error(), "past its end") {
		t.Errorf("decode with a trailing byte: %v", err)
	}
	js, _ := json.Marshal(FileRecord{Size: 3})
	if _, err := decodeFileRecord(js); err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Errorf("decode of JSON: %v", err)
	}
	if _, err := decodeFileRecord([]byte{9, 1, 2}); err == nil || !strings.Contains(err.Error(), "unknown form") {
		t.Errorf("decode of form 9: %v", err)
	}
}

// FuzzFileRecord: decoding never panics, and what decodes encodes to a
// value that decodes to the same record.
func FuzzFileRecord(f *testing.F) {
	f.Add(encodeFileRecord(FileRecord{Size: 7, SHA256: "ab", Outcome: OutcomePending, UpdatedAt: time.Unix(9, 0)}))
	f.Add([]byte{fileRecordForm, 0x80})
	f.Add([]byte(`{"size":1}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		rec, err := decodeFileRecord(v)
		if err != nil {
			return
		}
		again, err := decodeFileRecord(encodeFileRecord(rec))
		if err != nil || !again.UpdatedAt.Equal(rec.UpdatedAt) {
			t.Fatalf("re-decode of %+v: %+v, %v", rec, again, err)
		}
		again.UpdatedAt, rec.UpdatedAt = time.Time{}, time.Time{}
		if again != rec {
			t.Fatalf("re-decode: %+v, want %+v", again, rec)
		}
	})
}
