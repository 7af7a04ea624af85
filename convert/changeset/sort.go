package changeset

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
)

// rec is one feature as the sort and the index carry it.
type rec struct {
	hash uint64   // hashKey of the id's canonical key: the sort key
	sum  [16]byte // the first half of the line's SHA-256
	line int64    // line number in the converted file (0 in an index)
	id   []byte   // the id's JSON text as the line has it
}

// chunkRec is a rec held in a chunk, its id in the chunk's arena.
type chunkRec struct {
	hash   uint64
	sum    [16]byte
	line   int64
	off, n uint32
}

// limits bound the memory of the sort: a chunk holds at most recs records
// and arena bytes of ids before it is sorted and spilled to a run file.
type limits struct {
	recs  int
	arena int
}

// defaultLimits: a chunk of 2^18 records of 40 bytes (10 MiB) and 4 MiB of ids.
var defaultLimits = limits{recs: 1 << 18, arena: 4 << 20}

// sorter sorts records by (hash, line) in bounded memory: full chunks are
// sorted and written to run files in dir, which merged reads back.
type sorter struct {
	lim   limits
	dir   string
	recs  []chunkRec
	arena []byte
	runs  []*os.File
}

func (s *sorter) add(hash uint64, sum [16]byte, line int64, id []byte) error {
	if len(s.recs) == s.lim.recs || len(s.arena) > 0 && len(s.arena)+len(id) > s.lim.arena {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if len(s.recs) == cap(s.recs) {
		s.recs = slices.Grow(s.recs, min(max(2*cap(s.recs), 1024), s.lim.recs)-len(s.recs))
	}
	s.recs = append(s.recs, chunkRec{hash: hash, sum: sum, line: line, off: uint32(len(s.arena)), n: uint32(len(id))})
	s.arena = append(s.arena, id...)
	return nil
}

func (s *sorter) sortChunk() {
	slices.SortFunc(s.recs, func(a, b chunkRec) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(a.line, b.line)
	})
}

// spill sorts the chunk and writes it to a new run file.
func (s *sorter) spill() error {
	s.sortChunk()
	f, err := os.CreateTemp(s.dir, ".changeset-run-*")
	if err != nil {
		return fmt.Errorf("sort: %w", err)
	}
	s.runs = append(s.runs, f)
	bw := bufio.NewWriterSize(f, 256<<10)
	var buf []byte
	for _, c := range s.recs {
		buf = appendRec(buf[:0], &rec{hash: c.hash, sum: c.sum, line: c.line, id: s.arena[c.off : c.off+c.n]}, true)
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("sort: write %s: %w", f.Name(), err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sort: write %s: %w", f.Name(), err)
	}
	s.recs, s.arena = s.recs[:0], s.arena[:0]
	return nil
}

// close removes the run files.
func (s *sorter) close() {
	for _, f := range s.runs {
		f.Close()
		os.Remove(f.Name())
	}
	s.runs = nil
}

// merged returns the records in order: the runs and the last chunk merged.
func (s *sorter) merged() (*merger, error) {
	s.sortChunk()
	m := &merger{}
	for _, f := range s.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("sort: %w", err)
		}
		m.srcs = append(m.srcs, &runSource{br: bufio.NewReaderSize(f, 64<<10), name: f.Name()})
	}
	m.srcs = append(m.srcs, &chunkSource{s: s})
	for _, src := range m.srcs {
		if err := m.push(src); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// appendRec encodes a record: hash, sum, the line (in runs only), the id's
// length and the id.
func appendRec(dst []byte, r *rec, withLine bool) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, r.hash)
	dst = append(dst, r.sum[:]...)
	if withLine {
		dst = binary.AppendUvarint(dst, uint64(r.line))
	}
	dst = binary.AppendUvarint(dst, uint64(len(r.id)))
	return append(dst, r.id...)
}

type source interface {
	// next fills r with the next record (r.id valid until the next call);
	// false at the end.
	next(r *rec) (bool, error)
}

type chunkSource struct {
	s *sorter
	i int
}

func (c *chunkSource) next(r *rec) (bool, error) {
	if c.i == len(c.s.recs) {
		return false, nil
	}
	x := c.s.recs[c.i]
	c.i++
	*r = rec{hash: x.hash, sum: x.sum, line: x.line, id: c.s.arena[x.off : x.off+x.n]}
	return true, nil
}

// runSource reads a run file this process wrote.
type runSource struct {
	br   *bufio.Reader
	name string
	head [24]byte
	id   []byte
}

func (s *runSource) next(r *rec) (bool, error) {
	head := s.head[:]
	if _, err := io.ReadFull(s.br, head); err == io.EOF {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("sort: read %s: %w", s.name, err)
	}
	line, err := binary.ReadUvarint(s.br)
	if err != nil {
		return false, fmt.Errorf("sort: read %s: %w", s.name, err)
	}
	n, err := binary.ReadUvarint(s.br)
	if err != nil || n > MaxLineBytes {
		return false, fmt.Errorf("sort: read %s: bad record", s.name)
	}
	s.id = slices.Grow(s.id[:0], int(n))[:n]
	if _, err := io.ReadFull(s.br, s.id); err != nil {
		return false, fmt.Errorf("sort: read %s: %w", s.name, err)
	}
	r.hash = binary.LittleEndian.Uint64(head[:8])
	copy(r.sum[:], head[8:])
	r.line, r.id = int64(line), s.id
	return true, nil
}

// merger merges sources sorted by (hash, line). A source's record stays
// valid until that source is read again, which next does only after the
// caller is done with the record it returned.
type merger struct {
	srcs []source
	h    mergeHeap
	last *headRec // the head returned by the last next, to advance
}

type headRec struct {
	r   rec
	src source
}

type mergeHeap []*headRec

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].r.hash != h[j].r.hash {
		return h[i].r.hash < h[j].r.hash
	}
	return h[i].r.line < h[j].r.line
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*headRec)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (m *merger) push(src source) error {
	hr := &headRec{src: src}
	ok, err := src.next(&hr.r)
	if ok {
		heap.Push(&m.h, hr)
	}
	return err
}

// next returns the next record in order (nil at the end), valid until the
// following call.
func (m *merger) next() (*rec, error) {
	if m.last != nil {
		ok, err := m.last.src.next(&m.last.r)
		if err != nil {
			return nil, err
		}
		if ok {
			heap.Fix(&m.h, 0)
		} else {
			heap.Pop(&m.h)
		}
		m.last = nil
	}
	if len(m.h) == 0 {
		return nil, nil
	}
	m.last = m.h[0]
	return &m.last.r, nil
}
