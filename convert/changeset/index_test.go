package changeset

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/convert"
)

// TestCorruptIndex damages a good index every way it can be damaged: each
// must give Full with a reason, never an error or a changeset.
func TestCorruptIndex(t *testing.T) {
	dir := t.TempDir()
	v1 := []string{feat("1", 1), feat(`"two"`, 2), feat("3", 3)}
	v2 := []string{feat("1", 1), feat(`"two"`, 22), feat("4", 4)}
	good := filepath.Join(dir, "good.idx")
	if _, err := Build(context.Background(), writeLines(t, dir, "v1", v1), good); err != nil {
		t.Fatal(err)
	}
	conv := writeLines(t, dir, "v2", v2)
	data, _ := os.ReadFile(good)
	check := func(name string, idx []byte, reason string) {
		t.Helper()
		p := filepath.Join(dir, "bad.idx")
		os.WriteFile(p, idx, 0o644)
		var out strings.Builder
		res, err := Diff(context.Background(), p, conv, &out, filepath.Join(dir, "new.idx"), 1)
		if err != nil || !res.Full || out.Len() > 0 || !strings.Contains(res.Reason, reason) {
			t.Errorf("%s: %+v, %v, wrote %d bytes; want Full with %q", name, res, err, out.Len(), reason)
		}
		if res.Changes() != 0 {
			t.Errorf("%s: counts %+v from a corrupt index", name, res)
		}
	}
	for n := range len(data) {
		check(fmt.Sprintf("truncated to %d bytes", n), data[:n], "unusable")
	}
	for i := range data {
		for _, bit := range []byte{1, 0x80} {
			bad := append([]byte(nil), data...)
			bad[i] ^= bit
			check(fmt.Sprintf("byte %d ^ %#x", i, bit), bad, "")
		}
	}
	check("a byte more", append(append([]byte(nil), data...), 0), "unusable")
	other := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(other[8:], 2)
	check("version 2", other, "format version 2, this build reads 1")
	check("not an index", []byte(strings.Repeat("{}\n", 20)), "not an index")
	check("missing", nil, "")
	os.Remove(filepath.Join(dir, "bad.idx"))
	res, err := Diff(context.Background(), filepath.Join(dir, "bad.idx"), conv, nil, filepath.Join(dir, "new.idx"), 1)
	if err != nil || !res.Full || !strings.Contains(res.Reason, "bad.idx is missing") {
		t.Errorf("missing index: %+v, %v", res, err)
	}
	// And the good one still diffs.
	var out strings.Builder
	if res, err := Diff(context.Background(), good, conv, &out, filepath.Join(dir, "new.idx"), 1); err != nil || res.Full || res.Changes() != 3 {
		t.Errorf("good index: %+v, %v", res, err)
	}
}

// TestCancelled: a cancelled diff returns ctx's error and leaves nothing,
// wherever it stops.
func TestCancelled(t *testing.T) {
	dir := t.TempDir()
	var v1, v2 []string
	for i := range 20000 {
		v1 = append(v1, feat(fmt.Sprint(i), i))
		v2 = append(v2, feat(fmt.Sprint(i+100), i))
	}
	old := filepath.Join(dir, "old.idx")
	if _, err := diff(context.Background(), "", writeLines(t, dir, "v1", v1), io.Discard, old, 1, limits{recs: 1000, arena: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	conv := writeLines(t, dir, "v2", v2)
	// Every check of ctx in turn, until the diff ends before the next.
	for after := 0; ; after++ {
		parent, cancel := context.WithCancel(context.Background())
		n := 0
		ctx := &countingCtx{Context: parent, n: &n, cancelAt: after, cancel: cancel}
		_, err := diff(ctx, old, conv, io.Discard, filepath.Join(dir, "new.idx"), 1, limits{recs: 1000, arena: 1 << 20})
		cancel()
		if err == nil && n <= after {
			if after < 16 {
				t.Errorf("the diff checked ctx only %d times", after)
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled after %d checks: %v", after, err)
		}
		noLeftovers(t, dir, "old.idx", "v1", "v2")
	}
}

// countingCtx cancels itself at its cancelAt-th Err call.
type countingCtx struct {
	context.Context
	n        *int
	cancelAt int
	cancel   func()
}

func (c *countingCtx) Err() error {
	if *c.n++; *c.n > c.cancelAt {
		c.cancel()
	}
	return c.Context.Err()
}

// TestWriteFails: a failing w is an error, and leaves no index.
func TestWriteFails(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.idx")
	if _, err := Build(context.Background(), writeLines(t, dir, "v1", []string{feat("1", 1)}), old); err != nil {
		t.Fatal(err)
	}
	conv := writeLines(t, dir, "v2", []string{feat("2", 2)})
	_, err := Diff(context.Background(), old, conv, failWriter{}, filepath.Join(dir, "new.idx"), 1)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got %v", err)
	}
	noLeftovers(t, dir, "old.idx", "v1", "v2")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestHashCollision feeds the merge two different ids of one hash, which
// no test can find for FNV-1a: within a version, and across two.
func TestHashCollision(t *testing.T) {
	d := &differ{ctx: context.Background(), sorter: sorter{lim: defaultLimits}, oldReason: "none"}
	d.sorter.add(7, [16]byte{}, 1, []byte("1"))
	d.sorter.add(7, [16]byte{}, 2, []byte(`"1"`))
	m, err := d.sorter.merged()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := createIndex(filepath.Join(t.TempDir(), "i"), 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.abort()
	reason, err := d.merge(m, nil, idx)
	if err != nil || reason != `ids 1 (line 1) and "1" (line 2) have one 64-bit hash: this version cannot be diffed` {
		t.Errorf("within a version: %q, %v", reason, err)
	}
	if got := d.sameID([]byte("1"), []byte(`"1"`)); got != `id "1" and the published id 1 have one 64-bit hash` {
		t.Errorf("across versions: %q", got)
	}
}

// TestLongLines: lines longer than the read buffer are read whole; lines
// over MaxLineBytes are refused, naming the line.
func TestLongLines(t *testing.T) {
	long := feat("2", strings.Repeat("x", 1<<20))
	o := diffLines(t, []string{feat("1", 1)}, []string{feat("1", 1), long}, 1, defaultLimits)
	if o.changeset != long+"\n" {
		t.Errorf("changeset of %d bytes, want %d", len(o.changeset), len(long)+1)
	}
	for _, tail := range []string{"", "\n"} {
		lr := newLineReader(strings.NewReader("a\n"+strings.Repeat("b", 1<<20+1)+tail), "f")
		lr.max = 1 << 20
		lr.next()
		if _, err := lr.next(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "f: line 2 is over 1 MiB") {
			t.Errorf("over the limit: %v", err)
		}
	}
	if MaxLineBytes != convert.MaxRecordBytes {
		t.Errorf("MaxLineBytes %d, convert.MaxRecordBytes %d", MaxLineBytes, convert.MaxRecordBytes)
	}
}
