package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkLength refuses a bbolt file shorter than its own meta pages say it
// is (a truncated copy, a disk that filled up): bbolt would map it and the
// process would die of SIGBUS on the first read past the end, which no
// recover catches. A missing or empty file passes (bbolt creates it).
//
// A meta page is a 16-byte page header followed by magic, version, page
// size, flags (4 bytes each), the root bucket (16), the freelist page (8),
// the high-water page ID (8), the transaction ID (8) and an FNV-64a
// checksum of the preceding 56 bytes. The first meta is page 0, the second
// page 1.
func checkLength(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	pageSize, need, ok := readMeta(f, 0)
	if !ok {
		pageSize = int64(os.Getpagesize())
	}
	if _, need2, ok := readMeta(f, pageSize); ok {
		need = max(need, need2)
	}
	if need > fi.Size() {
		return fmt.Errorf("the file is %d bytes, its pages reach to %d: it was truncated", fi.Size(), need)
	}
	return nil
}

// readMeta reads the meta page at off: the page size and the file length its
// page count implies, if the page is a valid meta.
func readMeta(f *os.File, off int64) (pageSize, length int64, ok bool) {
	buf := make([]byte, 16+64)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, false
	}
	meta := buf[16:]
	if binary.LittleEndian.Uint32(meta[0:]) != 0xED0CDAED {
		return 0, 0, false
	}
	h := fnv.New64a()
	h.Write(meta[:56])
	if h.Sum64() != binary.LittleEndian.Uint64(meta[56:]) {
		return 0, 0, false
	}
	pageSize = int64(binary.LittleEndian.Uint32(meta[8:]))
	return pageSize, int64(binary.LittleEndian.Uint64(meta[40:])) * pageSize, true
}
