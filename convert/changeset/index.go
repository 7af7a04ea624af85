package changeset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// The index file: a header, the records sorted by id hash, a checksum.
//
//	header  "TSCSIDX\n" | version u32 | flags u32 | records u64   (24 bytes)
//	record  id hash u64 | line SHA-256[:16] | id length uvarint | id JSON text
//	trailer CRC-32C (Castagnoli) of all the bytes before it, u32
//
// Integers are little-endian. Id hashes strictly increase. An index with
// flagUnindexed has no records: its version's features had no unique ids.
const (
	indexMagic    = "TSCSIDX\n"
	indexVersion  = 1
	headerSize    = 24
	trailerSize   = 4
	minRecordSize = 8 + 16 + 1 + 1 // the shortest id is one byte: 0
)

const flagUnindexed = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks an index that cannot be trusted: Diff falls back to a
// full publish, it is not an error.
var errCorrupt = errors.New("corrupt")

// indexWriter writes an index to a temporary file beside its final path;
// install renames it there.
type indexWriter struct {
	f     *os.File
	bw    *bufio.Writer
	crc   hash.Hash32
	final string
	want  uint64
	n     uint64
	buf   []byte
	done  bool // installed or aborted
}

func createIndex(path string, records uint64, flags uint32) (*indexWriter, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	w := &indexWriter{f: f, crc: crc32.New(castagnoli), final: path, want: records}
	w.bw = bufio.NewWriterSize(io.MultiWriter(f, w.crc), 256<<10)
	head := append([]byte(indexMagic), make([]byte, headerSize-len(indexMagic))...)
	binary.LittleEndian.PutUint32(head[8:], indexVersion)
	binary.LittleEndian.PutUint32(head[12:], flags)
	binary.LittleEndian.PutUint64(head[16:], records)
	if _, err := w.bw.Write(head); err != nil {
		w.abort()
		return nil, fmt.Errorf("index: write %s: %w", f.Name(), err)
	}
	return w, nil
}

// add appends a record; records come in increasing hash order.
func (w *indexWriter) add(r *rec) error {
	w.buf = appendRec(w.buf[:0], r, false)
	w.n++
	if _, err := w.bw.Write(w.buf); err != nil {
		return fmt.Errorf("index: write %s: %w", w.f.Name(), err)
	}
	return nil
}

// finish writes the checksum and makes the file durable.
func (w *indexWriter) finish() error {
	if w.n != w.want {
		return fmt.Errorf("index: %d records written, %d announced", w.n, w.want)
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("index: write %s: %w", w.f.Name(), err)
	}
	if _, err := w.f.Write(binary.LittleEndian.AppendUint32(nil, w.crc.Sum32())); err != nil {
		return fmt.Errorf("index: write %s: %w", w.f.Name(), err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("index: sync %s: %w", w.f.Name(), err)
	}
	return nil
}

// install renames the finished file to its final path.
func (w *indexWriter) install() error {
	w.done = true
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("index: close %s: %w", w.f.Name(), err)
	}
	if err := os.Rename(w.f.Name(), w.final); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// abort removes the temporary file, unless installed.
func (w *indexWriter) abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// indexReader reads an index, checking it as it goes: an error wrapping
// errCorrupt means the file cannot be trusted; any other is I/O.
type indexReader struct {
	f       *os.File
	name    string
	br      *bufio.Reader
	crc     hash.Hash32
	left    int64 // bytes of records not yet read
	records uint64
	flags   uint32
	read    uint64
	prev    uint64
	done    bool
	head    [24]byte
	id, key []byte
}

// openIndex opens an index and reads its header. A missing file gives an
// error wrapping os.ErrNotExist; a header of another format version one
// wrapping errVersion.
func openIndex(path string) (*indexReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	r := &indexReader{f: f, name: path, crc: crc32.New(castagnoli)}
	if err := r.header(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// errVersion marks an index of another format version.
var errVersion = errors.New("of another format version")

func (r *indexReader) header() error {
	st, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	size := st.Size()
	if size < headerSize+trailerSize {
		return r.corruptf("%d bytes, shorter than a header", size)
	}
	r.br = bufio.NewReaderSize(io.TeeReader(io.LimitReader(r.f, size-trailerSize), r.crc), 256<<10)
	var head [headerSize]byte
	if _, err := io.ReadFull(r.br, head[:]); err != nil {
		return fmt.Errorf("index: read %s: %w", r.name, err)
	}
	if string(head[:8]) != indexMagic {
		return r.corruptf("not an index (magic %q)", head[:8])
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != indexVersion {
		return fmt.Errorf("index %s: format version %d, this build reads %d: %w", r.name, v, indexVersion, errVersion)
	}
	r.flags = binary.LittleEndian.Uint32(head[12:])
	r.records = binary.LittleEndian.Uint64(head[16:])
	r.left = size - trailerSize - headerSize
	if r.flags&^flagUnindexed != 0 || r.flags&flagUnindexed != 0 && r.records != 0 {
		return r.corruptf("unknown flags %#x", r.flags)
	}
	if r.records > uint64(r.left/minRecordSize) {
		return r.corruptf("%d records announced in %d bytes", r.records, r.left)
	}
	return nil
}

func (r *indexReader) corruptf(format string, args ...any) error {
	return fmt.Errorf("index %s: %s: %w", r.name, fmt.Sprintf(format, args...), errCorrupt)
}

func (r *indexReader) close() { r.f.Close() }

// next fills x with the next record (x.id valid until the next call);
// false after the last, once the checksum is found right.
func (r *indexReader) next(x *rec) (bool, error) {
	if r.read == r.records {
		if r.done {
			return false, nil
		}
		r.done = true
		return false, r.end()
	}
	head := r.head[:]
	if err := r.readFull(head); err != nil {
		return false, err
	}
	n, err := r.uvarint()
	if err != nil {
		return false, err
	}
	if n == 0 || n > uint64(r.left) {
		return false, r.corruptf("record %d: id of %d bytes", r.read+1, n)
	}
	r.id = slices.Grow(r.id[:0], int(n))[:n]
	if err := r.readFull(r.id); err != nil {
		return false, err
	}
	x.hash = binary.LittleEndian.Uint64(head[:8])
	copy(x.sum[:], head[8:])
	x.line, x.id = 0, r.id
	if r.key, err = idKey(r.key[:0], r.id); err != nil {
		return false, r.corruptf("record %d: %v", r.read+1, err)
	}
	if hashKey(r.key) != x.hash {
		return false, r.corruptf("record %d: id %s does not match its hash", r.read+1, quoteID(r.id))
	}
	if r.read > 0 && x.hash <= r.prev {
		return false, r.corruptf("record %d: out of order", r.read+1)
	}
	r.prev = x.hash
	r.read++
	return true, nil
}

func (r *indexReader) readFull(p []byte) error {
	if int64(len(p)) > r.left {
		return r.corruptf("truncated at record %d", r.read+1)
	}
	if _, err := io.ReadFull(r.br, p); err != nil {
		return r.readErr(err)
	}
	r.left -= int64(len(p))
	return nil
}

func (r *indexReader) readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return r.corruptf("truncated at record %d", r.read+1)
	}
	return fmt.Errorf("index: read %s: %w", r.name, err)
}

// end checks that the records fill the file and the checksum.
func (r *indexReader) end() error {
	if r.left != 0 {
		return r.corruptf("%d bytes after the last record", r.left)
	}
	var sum [trailerSize]byte
	if _, err := io.ReadFull(r.f, sum[:]); err != nil {
		return r.readErr(err)
	}
	if binary.LittleEndian.Uint32(sum[:]) != r.crc.Sum32() {
		return r.corruptf("checksum mismatch")
	}
	return nil
}

// uvarint reads a uvarint of the records.
func (r *indexReader) uvarint() (uint64, error) {
	var x uint64
	for i := range binary.MaxVarintLen64 {
		if r.left <= 0 {
			break
		}
		b, err := r.br.ReadByte()
		if err != nil {
			return 0, r.readErr(err)
		}
		r.left--
		if i == binary.MaxVarintLen64-1 && b > 1 {
			break
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return x, nil
		}
	}
	return 0, r.corruptf("record %d: bad length", r.read+1)
}
