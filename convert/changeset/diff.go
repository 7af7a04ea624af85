package changeset

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultMaxShare is the largest share of changed features a changeset
// carries by default: Mapbox recommends incremental updates when less than
// 15 % of the source changes per update.
const DefaultMaxShare = 0.15

// Result says what Diff found.
type Result struct {
	Features  int    // features (non-blank lines) in the converted file
	Added     int    // features whose id the last published version lacks
	Changed   int    // features whose id it has, on another line
	Removed   int    // ids of the last published version the converted file lacks
	Unchanged int    // features whose id and line are the same in both
	Bytes     int64  // bytes written to w
	Full      bool   // publish in full instead: nothing was written to w
	Reason    string // why Full, for a log line
}

// Changes is the number of lines of the changeset: Added + Changed + Removed.
func (r Result) Changes() int { return r.Added + r.Changed + r.Removed }

// Share is Changes over the larger of the two versions' feature counts
// (0 when both are empty).
func (r Result) Share() float64 {
	base := max(r.Features, r.Unchanged+r.Changed+r.Removed)
	if base == 0 {
		return 0
	}
	return float64(r.Changes()) / float64(base)
}

// Diff compares the converted file (line-delimited GeoJSON as package
// convert writes it) with oldIndex, the index of the last published
// version. Unless it falls back to a full publish, it writes the changeset
// to w: first a {"id":…,"delete":true} line for each removed id, in the
// index's order, then each added or changed feature's line as it is in
// converted, in the file's order; each line "\n"-terminated. Deletions come
// first so that a deleted id and an added one that MTS might take for the
// same (1 and "1") end with the feature present, whatever MTS makes of them.
// Nothing changed gives an empty changeset (Changes() == 0): publish nothing.
//
// It returns Full (with a Reason, and nothing written to w) when the
// changeset cannot or should not be used: features without an id, an id on
// two features, an id written differently than when it was published (1.0
// for 1), an oldIndex missing (or "": a first publish), corrupt or of
// another format version, or a Share over maxShare (0 means
// DefaultMaxShare; 1 or more never falls back for size: a Share counts
// additions and removals both, and may pass 1). The counts are those of
// the diff when it was made, zero when the index or the ids prevented it.
//
// On a nil error newIndexPath holds the index of converted, complete and
// synced (when its features lack unique ids, an index saying so, which
// makes the next Diff fall back). Rename it over oldIndex (and sync the
// folder) once the publish succeeds, changeset or full, and never otherwise: the index must always
// be that of the version the tileset holds. On an error (ctx's included)
// newIndexPath is untouched and w must be discarded.
//
// Memory is bounded whatever the file's size (see the package doc); it
// writes temporary files beside newIndexPath and removes them. converted
// must not change while Diff runs.
func Diff(ctx context.Context, oldIndex, converted string, w io.Writer, newIndexPath string, maxShare float64) (Result, error) {
	return diff(ctx, oldIndex, converted, w, newIndexPath, maxShare, defaultLimits)
}

// Build writes the index of converted to indexPath, for a version
// published in full without a Diff (a first publish). It is Diff with no
// old index: Full is true, Features is counted, and on a nil error
// indexPath holds the index.
func Build(ctx context.Context, converted, indexPath string) (Result, error) {
	return diff(ctx, "", converted, io.Discard, indexPath, 1, defaultLimits)
}

// differ holds one Diff's state.
type differ struct {
	ctx       context.Context
	name      string // the converted file
	f         *os.File
	st        fs.FileInfo
	res       Result
	lines     int64 // lines of converted
	noID      int
	firstNoID int64
	sorter    sorter
	key, key2 []byte
	prev      rec // the previous new record, its id copied, for duplicates
	changed   bitset
	removed   bitset
	oldReason string // why the old index cannot be used, once known
}

func diff(ctx context.Context, oldIndex, converted string, w io.Writer, newIndexPath string, maxShare float64, lim limits) (Result, error) {
	if maxShare == 0 {
		maxShare = DefaultMaxShare
	}
	if !(maxShare > 0) {
		return Result{}, fmt.Errorf("changeset: maxShare %v is not a positive share", maxShare)
	}
	f, err := os.Open(converted)
	if err != nil {
		return Result{}, fmt.Errorf("changeset: %w", err)
	}
	defer f.Close()
	d := &differ{ctx: ctx, name: converted, f: f, sorter: sorter{lim: lim, dir: filepath.Dir(newIndexPath)}}
	defer d.sorter.close()
	if d.st, err = f.Stat(); err != nil {
		return Result{}, fmt.Errorf("changeset: %w", err)
	}
	if err := d.scan(); err != nil {
		return Result{}, err
	}
	if d.noID > 0 {
		return d.unindexed(newIndexPath, fmt.Sprintf("%d of %d features have no id (the first on line %d): changesets need a unique id on every feature",
			d.noID, d.res.Features, d.firstNoID))
	}
	old, err := d.openOld(oldIndex)
	if err != nil {
		return Result{}, err
	}
	if old != nil {
		defer old.close()
	}
	idx, err := createIndex(newIndexPath, uint64(d.res.Features), 0)
	if err != nil {
		return Result{}, err
	}
	defer idx.abort() // after install, a no-op
	m, err := d.sorter.merged()
	if err != nil {
		return Result{}, err
	}
	reason, err := d.merge(m, old, idx)
	if err != nil {
		return Result{}, err
	}
	if reason != "" {
		idx.abort()
		return d.unindexed(newIndexPath, reason)
	}
	d.decide(maxShare)
	if err := idx.finish(); err != nil {
		return Result{}, err
	}
	if !d.res.Full {
		if err := d.write(w, oldIndex); err != nil {
			return Result{}, err
		}
	}
	return d.res, idx.install()
}

// scan reads converted once: counts the features, checks their ids, and
// sorts their records.
func (d *differ) scan() error {
	lr := newLineReader(d.f, d.name)
	for n := 0; ; n++ {
		if n%4096 == 0 && d.ctx.Err() != nil {
			return fmt.Errorf("changeset: %w", d.ctx.Err())
		}
		l, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if blank(l) {
			continue
		}
		d.res.Features++
		id, err := findID(l)
		if err != nil {
			return lr.invalidf("line %d: %v", lr.line, err)
		}
		if id == nil {
			if d.noID++; d.noID == 1 {
				d.firstNoID = lr.line
			}
			continue
		}
		if d.key, err = idKey(d.key[:0], id); err != nil {
			return lr.invalidf("line %d: %v", lr.line, err)
		}
		if d.noID > 0 {
			continue // no index can be made: only count
		}
		sum := sha256.Sum256(l)
		if err := d.sorter.add(hashKey(d.key), [16]byte(sum[:16]), lr.line, id); err != nil {
			return err
		}
	}
	d.lines = lr.line
	return nil
}

// openOld opens the old index, or sets oldReason and returns nil.
func (d *differ) openOld(path string) (*indexReader, error) {
	if path == "" {
		d.oldReason = "no index of a published version: the first publish is full"
		return nil, nil
	}
	old, err := openIndex(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.oldReason = fmt.Sprintf("no index of the last published version (%s is missing)", path)
	case errors.Is(err, errCorrupt) || errors.Is(err, errVersion):
		d.oldReason = "the index of the last published version is unusable: " + err.Error()
	case err != nil:
		return nil, err
	case old.flags&flagUnindexed != 0:
		old.close()
		d.oldReason = "the last published version has no index: its features had no unique ids"
		return nil, nil
	}
	if d.oldReason != "" {
		return nil, nil
	}
	d.removed = newBitset(int64(old.records))
	d.changed = newBitset(d.lines + 1)
	return old, nil
}

// unindexed writes an index saying the version has none, and falls back.
func (d *differ) unindexed(path, reason string) (Result, error) {
	d.res = Result{Features: d.res.Features, Full: true, Reason: reason}
	idx, err := createIndex(path, 0, flagUnindexed)
	if err != nil {
		return Result{}, err
	}
	defer idx.abort()
	if err := idx.finish(); err != nil {
		return Result{}, err
	}
	return d.res, idx.install()
}

// decide sets Full and Reason from what merge found.
func (d *differ) decide(maxShare float64) {
	if d.oldReason != "" {
		d.res = Result{Features: d.res.Features, Full: true, Reason: d.oldReason}
		return
	}
	if s := d.res.Share(); maxShare < 1 && s > maxShare {
		d.res.Full, d.res.Reason = true, fmt.Sprintf("%.1f %% of the features changed (%d added, %d changed, %d removed), over the %.1f %% a changeset may carry",
			100*s, d.res.Added, d.res.Changed, d.res.Removed, 100*maxShare)
	}
}

// dropOld stops using the old index for reason.
func (d *differ) dropOld(reason string) {
	if d.oldReason == "" {
		d.oldReason = reason
	}
}

// bitset is a set of small integers.
type bitset []uint64

func newBitset(n int64) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int64)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int64) bool { return i/64 < int64(len(b)) && b[i/64]&(1<<(i%64)) != 0 }
