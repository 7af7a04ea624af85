package changeset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/tilesyncd/tilesyncd/format"
	"io"
	"strings"
)

// merge walks the new records in hash order beside the old index's,
// writes each to the new index, counts and marks what changed. It returns a
// reason when the new version cannot be indexed: an id on two features, or
// two ids of one hash.
func (d *differ) merge(m *merger, old *indexReader, idx *indexWriter) (string, error) {
	var o rec
	oldOK := false
	advance := func() error {
		if old == nil || d.oldReason != "" {
			oldOK = false
			return nil
		}
		ok, err := old.next(&o)
		if errors.Is(err, errCorrupt) {
			d.dropOld("the index of the last published version is unusable: " + err.Error())
			ok, err = false, nil
		}
		oldOK = ok
		return err
	}
	if err := advance(); err != nil {
		return "", err
	}
	for i := 0; ; i++ {
		if i%4096 == 0 && d.ctx.Err() != nil {
			return "", fmt.Errorf("changeset: %w", d.ctx.Err())
		}
		n, err := m.next()
		if err != nil {
			return "", err
		}
		if n != nil {
			if reason, err := d.unique(m, n); reason != "" || err != nil {
				return reason, err
			}
		}
		for oldOK && (n == nil || o.hash < n.hash) {
			d.removed.set(int64(old.read - 1))
			d.res.Removed++
			if err := advance(); err != nil {
				return "", err
			}
		}
		if n == nil {
			return "", nil
		}
		switch {
		case d.oldReason != "":
		case oldOK && o.hash == n.hash:
			if reason := d.sameID(o.id, n.id); reason != "" {
				d.dropOld(reason)
			} else if o.sum == n.sum {
				d.res.Unchanged++
			} else {
				d.res.Changed++
				d.changed.set(n.line)
			}
			if err := advance(); err != nil {
				return "", err
			}
		default:
			d.res.Added++
			d.changed.set(n.line)
		}
		if err := idx.add(n); err != nil {
			return "", err
		}
	}
}

// unique checks the new record n against the one before it: the same hash
// is an id on two features or two ids of one hash. It keeps n as the one
// before the next.
func (d *differ) unique(m *merger, n *rec) (string, error) {
	p := &d.prev
	if p.line == 0 || p.hash != n.hash {
		p.hash, p.line, p.id = n.hash, n.line, append(p.id[:0], n.id...)
		return "", nil
	}
	var err error
	if d.key, err = idKey(d.key[:0], p.id); err != nil {
		return "", err
	}
	if d.key2, err = idKey(d.key2[:0], n.id); err != nil {
		return "", err
	}
	if !bytes.Equal(d.key, d.key2) {
		return fmt.Sprintf("ids %s (line %d) and %s (line %d) have one 64-bit hash: this version cannot be diffed",
			quoteID(p.id), p.line, quoteID(n.id), n.line), nil
	}
	lines := []string{fmt.Sprint(p.line), fmt.Sprint(n.line)}
	for len(lines) < 10 {
		x, err := m.next()
		if err != nil {
			return "", err
		}
		if x == nil || x.hash != p.hash {
			break
		}
		if d.key2, err = idKey(d.key2[:0], x.id); err != nil || !bytes.Equal(d.key, d.key2) {
			break // another id of the same hash: the duplicate is reason enough
		}
		lines = append(lines, fmt.Sprint(x.line))
	}
	return fmt.Sprintf("id %s is on lines %s and %s: changesets need a unique id on every feature",
		quoteID(p.id), strings.Join(lines[:len(lines)-1], ", "), lines[len(lines)-1]), nil
}

// sameID compares a published id with a new one of the same hash: "" when
// they are the same id written the same way, else why the diff cannot go on.
func (d *differ) sameID(old, new []byte) string {
	if bytes.Equal(old, new) {
		return ""
	}
	d.key, _ = idKey(d.key[:0], old)
	d.key2, _ = idKey(d.key2[:0], new)
	if bytes.Equal(d.key, d.key2) {
		return fmt.Sprintf("id %s was published as %s: MTS might take them for two ids", quoteID(new), quoteID(old))
	}
	return fmt.Sprintf("id %s and the published id %s have one 64-bit hash", quoteID(new), quoteID(old))
}

// write writes the changeset to w: the deletions, then the lines added or
// changed.
func (d *differ) write(w io.Writer, oldIndex string) error {
	cw := &format.CountWriter{W: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	if d.res.Removed > 0 {
		if err := d.writeDeletions(bw, oldIndex); err != nil {
			return err
		}
	}
	if d.res.Added+d.res.Changed > 0 {
		if err := d.copyLines(bw); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("changeset: write: %w", err)
	}
	d.res.Bytes = cw.N
	return nil
}

// writeDeletions reads the old index again and writes a deletion for each
// record marked removed.
func (d *differ) writeDeletions(bw *bufio.Writer, path string) error {
	old, err := openIndex(path)
	if err != nil {
		return fmt.Errorf("changeset: the index changed during the diff: %w", err)
	}
	defer old.close()
	var r rec
	for i := int64(0); ; i++ {
		if i%4096 == 0 && d.ctx.Err() != nil {
			return fmt.Errorf("changeset: %w", d.ctx.Err())
		}
		ok, err := old.next(&r)
		if err != nil {
			return fmt.Errorf("changeset: the index changed during the diff: %w", err)
		}
		if !ok {
			return nil
		}
		if d.removed.has(i) {
			bw.WriteString(`{"id":`)
			bw.Write(r.id)
			if _, err := bw.WriteString(`,"delete":true}` + "\n"); err != nil {
				return fmt.Errorf("changeset: write: %w", err)
			}
		}
	}
}

// copyLines reads converted again and copies the lines marked changed.
func (d *differ) copyLines(bw *bufio.Writer) error {
	if st, err := d.f.Stat(); err != nil || st.Size() != d.st.Size() || !st.ModTime().Equal(d.st.ModTime()) {
		return fmt.Errorf("changeset: %s changed during the diff", d.name)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("changeset: %w", err)
	}
	lr := newLineReader(d.f, d.name)
	left := d.res.Added + d.res.Changed
	for n := 0; left > 0; n++ {
		if n%4096 == 0 && d.ctx.Err() != nil {
			return fmt.Errorf("changeset: %w", d.ctx.Err())
		}
		l, err := lr.next()
		if err == io.EOF {
			return fmt.Errorf("changeset: %s changed during the diff", d.name)
		}
		if err != nil {
			return err
		}
		if d.changed.has(lr.line) {
			left--
			bw.Write(l)
			if err := bw.WriteByte('\n'); err != nil {
				return fmt.Errorf("changeset: write: %w", err)
			}
		}
	}
	return nil
}
