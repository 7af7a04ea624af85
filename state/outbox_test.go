package state_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/state/statetest"
)

func payload(i int) []byte { return fmt.Appendf(nil, `{"n":%d}`, i) }

func seqs(es []state.OutboxEntry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func TestOutbox(t *testing.T) {
	clk := newClock()
	s := statetest.Open(t, state.Options{Clock: clk})

	// A file without the bucket has an empty outbox.
	if got, err := s.OutboxPending("a", 0); err != nil || len(got) != 0 {
		t.Fatalf("OutboxPending on a new file = %v, %v", got, err)
	}
	if err := s.OutboxDelete("a", 1); err != nil {
		t.Fatal(err)
	}

	for i := range 3 {
		if _, err := s.OutboxAdd([]string{"a", "b"}, payload(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.OutboxPending("a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(seqs(a)); got != "[1 3 5]" {
		t.Errorf("target a holds %s, want [1 3 5]", got)
	}
	if string(a[2].Payload) != `{"n":2}` || a[2].Target != "a" || !a[2].Added.Equal(clk.Now()) {
		t.Errorf("entry %+v", a[2])
	}
	first, err := s.OutboxPending("b", 2)
	if err != nil || fmt.Sprint(seqs(first)) != "[2 4]" {
		t.Errorf("OutboxPending(b, 2) = %v, %v; want [2 4]", seqs(first), err)
	}

	if err := s.OutboxFailed("a", 1, "503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxFailed("a", 1, strings.Repeat("é", 400)); err != nil {
		t.Fatal(err)
	}
	a, _ = s.OutboxPending("a", 1)
	if a[0].Attempts != 2 || len(a[0].LastError) > 500 || !strings.HasPrefix(a[0].LastError, "é") {
		t.Errorf("after two failures: attempts %d, last error of %d bytes", a[0].Attempts, len(a[0].LastError))
	}
	if err := s.OutboxDelete("a", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxDelete("a", 1); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	if err := s.OutboxFailed("a", 1, "late"); err != nil {
		t.Errorf("a failure of a deleted entry: %v", err)
	}
	counts, err := s.OutboxCounts()
	if err != nil || counts["a"] != 2 || counts["b"] != 3 || len(counts) != 2 {
		t.Errorf("OutboxCounts() = %v, %v; want a:2 b:3", counts, err)
	}
	if n, err := s.OutboxDrop("b"); n != 3 || err != nil {
		t.Errorf("OutboxDrop(b) = %d, %v; want 3", n, err)
	}
	if b, _ := s.OutboxPending("b", 0); len(b) != 0 {
		t.Errorf("b holds %d entries after the drop", len(b))
	}
}

// TestOutboxBound: a target holds at most limit entries; adding beyond
// drops its oldest, and only its own.
func TestOutboxBound(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	if _, err := s.OutboxAdd([]string{"other"}, payload(0), 3); err != nil {
		t.Fatal(err)
	}
	var dropped []state.OutboxEntry
	for i := 1; i <= 5; i++ {
		d, err := s.OutboxAdd([]string{"t"}, payload(i), 3)
		if err != nil {
			t.Fatal(err)
		}
		dropped = append(dropped, d...)
	}
	kept, _ := s.OutboxPending("t", 0)
	if got := fmt.Sprint(seqs(kept)); got != "[4 5 6]" {
		t.Errorf("kept %s, want the newest three [4 5 6]", got)
	}
	if got := fmt.Sprint(seqs(dropped)); got != "[2 3]" || string(dropped[0].Payload) != `{"n":1}` {
		t.Errorf("dropped %s, want the oldest two [2 3]", got)
	}
	if other, _ := s.OutboxPending("other", 0); len(other) != 1 {
		t.Errorf("another target lost entries: %d left", len(other))
	}
}

func TestOutboxInvalid(t *testing.T) {
	s := statetest.Open(t, state.Options{})
	for _, tt := range []struct {
		targets []string
		payload string
	}{{[]string{""}, `{}`}, {[]string{"a\x00b"}, `{}`}, {[]string{"a"}, `{"n":`}} {
		if _, err := s.OutboxAdd(tt.targets, []byte(tt.payload), 0); !errors.Is(err, state.ErrInvalidKey) {
			t.Errorf("OutboxAdd(%q, %q): %v, want ErrInvalidKey", tt.targets, tt.payload, err)
		}
	}
}

// TestOutboxKeptAcrossReopen: entries are in the file, for the next start
// and for a read-only open.
func TestOutboxKeptAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := statetest.OpenPath(t, path, state.Options{})
	if _, err := s.OutboxAdd([]string{"a"}, payload(7), 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := state.Open(path, state.Options{ReadOnly: true, AllowNetworkFS: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ro.OutboxPending("a", 0)
	ro.Close()
	if err != nil || len(got) != 1 || string(got[0].Payload) != `{"n":7}` {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}

// TestOutboxDamageIsCorrupt: Check reads the outbox: an entry filed under
// another target's key makes Open report the file damaged.
func TestOutboxDamageIsCorrupt(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(b *bolt.Bucket) error
		want   string
	}{
		{"wrong target", func(b *bolt.Bucket) error {
			v, _ := json.Marshal(state.OutboxEntry{Seq: 1, Target: "b", Payload: json.RawMessage(`{}`)})
			return b.Put(append([]byte("a\x00"), 0, 0, 0, 0, 0, 0, 0, 1), v)
		}, `holds entry 1 of "b"`},
		{"not JSON", func(b *bolt.Bucket) error {
			return b.Put(append([]byte("a\x00"), 0, 0, 0, 0, 0, 0, 0, 1), []byte("{"))
		}, "outbox"},
		{"malformed key", func(b *bolt.Bucket) error { return b.Put([]byte("a"), []byte("{}")) }, "outbox key"},
		{"beyond the sequence", func(b *bolt.Bucket) error {
			v, _ := json.Marshal(state.OutboxEntry{Seq: 9, Target: "a", Payload: json.RawMessage(`{}`)})
			return b.Put(append([]byte("a\x00"), 0, 0, 0, 0, 0, 0, 0, 9), v)
		}, "beyond the bucket's"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			s, err := state.Open(path, state.Options{AllowNetworkFS: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.OutboxAdd([]string{"a"}, []byte(`{}`), 0); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error { return tt.damage(tx.Bucket([]byte("outbox"))) })
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			_, err = state.Open(path, state.Options{AllowNetworkFS: true})
			if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v; want ErrCorrupt with %q", err, tt.want)
			}
		})
	}
}
