package shapefile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding"

	"github.com/tilesyncd/tilesyncd/convert/internal/charset"
)

// Field is a column of a .dbf.
type Field struct {
	Name     string // decoded, trimmed
	Type     byte   // 'C', 'N', 'F', 'L', 'D', 'I', '+', 'O', '@', 'T', or another (read as null)
	Length   int
	Decimals int
}

// Kind is the type of a Value.
type Kind uint8

// The kinds of values.
const (
	KindNull   Kind = iota
	KindString      // Text
	KindNumber      // Num, and Text as written in the file (trimmed)
	KindBool        // Bool
)

// Value is one field of one record.
type Value struct {
	Kind Kind
	Text string
	Num  float64
	Bool bool
}

// DBF reads the records of a .dbf in order.
type DBF struct {
	Fields  []Field
	Records int // the record count in the header

	// Encoding is the text encoding used (nil: UTF-8); Guessed reports
	// that it is a guess, no .cpg having named one.
	Encoding encoding.Encoding
	Guessed  bool

	r      *bufio.Reader
	recLen int
	read   int
	rec    []byte
	values []Value
}

// NewDBF reads the header of a .dbf from r. cpg is the content of the
// shapefile's .cpg ("" when it has none). It fails for a .cpg naming an
// encoding it does not know.
func NewDBF(r io.Reader, cpg string) (*DBF, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var h [32]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt(".dbf is shorter than its 32-byte header")
		}
		return nil, err
	}
	d := &DBF{r: br}
	d.Records = int(binary.LittleEndian.Uint32(h[4:]))
	headerLen := int(binary.LittleEndian.Uint16(h[8:]))
	d.recLen = int(binary.LittleEndian.Uint16(h[10:]))
	if cpg = strings.TrimSpace(cpg); cpg != "" {
		enc, ok := charset.Lookup(cpg)
		if !ok {
			return nil, fmt.Errorf(".cpg names the encoding %q, which is not known", cpg)
		}
		d.Encoding = enc
	} else {
		d.Encoding, _ = charset.ForLDID(h[29])
		d.Guessed = true
	}
	read := 32
	sum := 1 // the deletion flag
	for read+32 <= headerLen {
		var f [32]byte
		if _, err := io.ReadFull(br, f[:1]); err != nil {
			return nil, corrupt(".dbf header ends inside its field list")
		}
		read++
		if f[0] == 0x0D {
			break
		}
		if _, err := io.ReadFull(br, f[1:]); err != nil {
			return nil, corrupt(".dbf header ends inside its field list")
		}
		read += 31
		name := f[:11]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		fld := Field{
			Name:     strings.TrimSpace(charset.Decode(d.Encoding, d.Guessed, name)),
			Type:     f[11],
			Length:   int(f[16]),
			Decimals: int(f[17]),
		}
		if fld.Type == 'C' { // lengths over 255 use the decimal count as the high byte
			fld.Length += 256 * fld.Decimals
		}
		sum += fld.Length
		d.Fields = append(d.Fields, fld)
	}
	if sum > d.recLen {
		return nil, corrupt(".dbf fields need %d bytes a record, its header says records are %d", sum, d.recLen)
	}
	if headerLen < read {
		return nil, corrupt(".dbf header length %d is shorter than its fields", headerLen)
	}
	if _, err := br.Discard(headerLen - read); err != nil {
		return nil, corrupt(".dbf ends inside its header")
	}
	d.values = make([]Value, len(d.Fields))
	return d, nil
}

// Skipped returns the fields whose values are not read (memo and binary
// types), which read as null.
func (d *DBF) Skipped() []Field {
	var out []Field
	for _, f := range d.Fields {
		if !readable(f.Type) {
			out = append(out, f)
		}
	}
	return out
}

func readable(t byte) bool { return strings.IndexByte("CNFLDI+O@T", t) >= 0 }

// Next reads the next record. deleted reports a record marked deleted.
// The values are valid until the next call. It returns io.EOF after the
// last record (by the header's count, or the end of the data).
func (d *DBF) Next() (values []Value, deleted bool, err error) {
	if d.read >= d.Records {
		return nil, false, io.EOF
	}
	if d.rec, err = readN(d.r, d.rec, d.recLen); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if len(d.rec) == 0 || (len(d.rec) == 1 && d.rec[0] == 0x1A) {
				return nil, false, io.EOF
			}
			return nil, false, corrupt(".dbf ends inside record %d", d.read+1)
		}
		return nil, false, err
	}
	d.read++
	if d.rec[0] == 0x1A { // end-of-file marker before the header's count
		return nil, false, io.EOF
	}
	deleted = d.rec[0] == '*'
	off := 1
	for i, f := range d.Fields {
		d.values[i] = d.value(f, d.rec[off:off+f.Length])
		off += f.Length
	}
	return d.values, deleted, nil
}

// value decodes one field. A value that cannot be read as its type is
// null, as dBASE readers treat it.
func (d *DBF) value(f Field, b []byte) Value {
	switch f.Type {
	case 'C':
		s := charset.Decode(d.Encoding, d.Guessed, bytes.TrimRight(b, " \x00"))
		if s == "" {
			return Value{}
		}
		return Value{Kind: KindString, Text: s}
	case 'N', 'F':
		t := strings.TrimSpace(string(bytes.TrimRight(b, "\x00")))
		n, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return Value{}
		}
		return Value{Kind: KindNumber, Text: t, Num: n}
	case 'L':
		if t := bytes.TrimSpace(b); len(t) > 0 {
			switch t[0] {
			case 'T', 't', 'Y', 'y':
				return Value{Kind: KindBool, Bool: true}
			case 'F', 'f', 'N', 'n':
				return Value{Kind: KindBool, Bool: false}
			}
		}
		return Value{}
	case 'D':
		t := strings.TrimSpace(string(bytes.TrimRight(b, "\x00")))
		if len(t) == 8 && t != "00000000" && allDigits(t) {
			return Value{Kind: KindString, Text: t[:4] + "-" + t[4:6] + "-" + t[6:]}
		}
		if t == "" || t == "00000000" {
			return Value{}
		}
		return Value{Kind: KindString, Text: t}
	case 'I', '+':
		if len(b) != 4 {
			return Value{}
		}
		n := int32(binary.LittleEndian.Uint32(b))
		return Value{Kind: KindNumber, Text: strconv.Itoa(int(n)), Num: float64(n)}
	case 'O':
		if len(b) != 8 {
			return Value{}
		}
		n := math.Float64frombits(binary.LittleEndian.Uint64(b))
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return Value{}
		}
		return Value{Kind: KindNumber, Text: strconv.FormatFloat(n, 'g', -1, 64), Num: n}
	case '@', 'T':
		return timestamp(b)
	}
	return Value{}
}

// timestamp reads an 8-byte dBASE timestamp: a Julian day number and the
// milliseconds since midnight, both little-endian 32-bit integers.
func timestamp(b []byte) Value {
	if len(b) != 8 {
		return Value{}
	}
	day := int64(int32(binary.LittleEndian.Uint32(b)))
	ms := int64(int32(binary.LittleEndian.Uint32(b[4:])))
	if day <= 0 || day > 5373484 || ms < 0 || ms >= 86400000 { // up to the year 9999
		return Value{}
	}
	const unixEpochJulian = 2440588
	t := time.Unix((day-unixEpochJulian)*86400, ms*int64(time.Millisecond)).UTC()
	return Value{Kind: KindString, Text: t.Format("2006-01-02T15:04:05.000Z")}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
