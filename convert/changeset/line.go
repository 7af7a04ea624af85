package changeset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxLineBytes bounds one line of the converted file (one feature, without
// its "\n"), which is held whole while it is read: convert.MaxRecordBytes.
const MaxLineBytes = 256 << 20

// ErrInvalid is wrapped by every error about the converted file's content
// (a line that is not a JSON object, an id that is neither a string nor a
// number, a line over MaxLineBytes): convert never writes such a file.
var ErrInvalid = errors.New("not line-delimited GeoJSON as convert writes it")

// lineReader reads a file's "\n"-terminated lines, numbering them from 1.
// A last line without "\n" is a line too.
type lineReader struct {
	br   *bufio.Reader
	name string
	line int64 // number of the line last returned
	buf  []byte
	max  int // MaxLineBytes, but in tests
}

func newLineReader(r io.Reader, name string) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 256<<10), name: name, max: MaxLineBytes}
}

// next returns the next line without its "\n", valid until the next call,
// or io.EOF after the last.
func (r *lineReader) next() ([]byte, error) {
	r.buf = r.buf[:0]
	for {
		frag, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(r.buf)+len(frag) > r.max {
				return nil, r.invalidf("line %d is over %d MiB", r.line+1, r.max>>20)
			}
			r.buf = append(r.buf, frag...)
			continue
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", r.name, err)
		}
		if err == io.EOF && len(frag) == 0 && len(r.buf) == 0 {
			return nil, io.EOF
		}
		r.line++
		l := frag
		if len(r.buf) > 0 {
			r.buf = append(r.buf, frag...)
			l = r.buf
		}
		l = bytes.TrimSuffix(l, []byte("\n"))
		if len(l) > r.max {
			return nil, r.invalidf("line %d is over %d MiB", r.line, r.max>>20)
		}
		return l, nil
	}
}

// invalidf is an error about the content, naming the file.
func (r *lineReader) invalidf(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", r.name, fmt.Sprintf(format, args...), ErrInvalid)
}

// blank reports whether a line holds only white space (it is no feature).
func blank(line []byte) bool { return len(bytes.TrimLeft(line, " \t\r")) == 0 }

// findID returns the JSON text of the top-level "id" member of the object
// on line, or nil when it has none or it is null. It checks the line's
// structure only as far as finding the member needs: an object of members,
// strings terminated, brackets balanced.
func findID(line []byte) ([]byte, error) {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return nil, errors.New("not a JSON object")
	}
	i = skipSpace(line, i+1)
	var id []byte
	found := false
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) || line[i] != '"' {
				return nil, fmt.Errorf("byte %d: expected a member name", i+1)
			}
			end, err := skipString(line, i)
			if err != nil {
				return nil, err
			}
			key := line[i:end]
			i = skipSpace(line, end)
			if i >= len(line) || line[i] != ':' {
				return nil, fmt.Errorf(`byte %d: expected ":"`, i+1)
			}
			start := skipSpace(line, i+1)
			if end, err = skipValue(line, start); err != nil {
				return nil, err
			}
			if isIDKey(key) {
				if found {
					return nil, errors.New(`two "id" members`)
				}
				found, id = true, line[start:end]
			}
			i = skipSpace(line, end)
			if i < len(line) && line[i] == ',' {
				i = skipSpace(line, i+1)
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return nil, fmt.Errorf(`byte %d: expected "," or "}"`, i+1)
		}
	}
	if skipSpace(line, i) != len(line) {
		return nil, fmt.Errorf("byte %d: data after the object", i+1)
	}
	if string(id) == "null" {
		return nil, nil
	}
	return id, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("byte %d: unterminated string", i+1)
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("unexpected end of line")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("byte %d: unterminated %c", i+1, b[i])
	case ',', '}', ']', ':':
		return 0, fmt.Errorf("byte %d: expected a value", i+1)
	}
	j := i
	for ; j < len(b); j++ {
		if c := b[j]; c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			break
		}
	}
	return j, nil
}

// isIDKey reports whether a member name (its JSON text) is "id".
func isIDKey(key []byte) bool {
	if string(key) == `"id"` {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == "id"
}

// idKey appends the canonical form of an id (JSON text) to dst: 's' and the
// string's value, or 'n' and the number's exact decimal value (sign, digits
// without leading or trailing zeros, 'e', exponent), so that ids equal as
// JSON values have equal keys: "A" and "\u0041", 1, 1.0 and 1e0. A number
// and a string are never equal (1 and "1" are two ids).
func idKey(dst, id []byte) ([]byte, error) {
	if len(id) == 0 {
		return nil, errors.New("empty id")
	}
	if id[0] == '"' {
		return stringKey(dst, id)
	}
	if id[0] == '-' || id[0] >= '0' && id[0] <= '9' {
		return numberKey(dst, id)
	}
	return nil, fmt.Errorf("id must be a string or a number, not %.40s", id)
}

func stringKey(dst, id []byte) ([]byte, error) {
	if len(id) < 2 || id[len(id)-1] != '"' {
		return nil, fmt.Errorf("id %.40s is not a valid JSON string", id)
	}
	inner := id[1 : len(id)-1]
	plain := utf8.Valid(inner)
	for _, c := range inner {
		if c < 0x20 || c == '\\' || c == '"' {
			plain = false
			break
		}
	}
	if plain {
		return append(append(dst, 's'), inner...), nil
	}
	var s string
	if err := json.Unmarshal(id, &s); err != nil {
		return nil, fmt.Errorf("id %.40s is not a valid JSON string", id)
	}
	return append(append(dst, 's'), s...), nil
}

func numberKey(dst, id []byte) ([]byte, error) {
	bad := func() error { return fmt.Errorf("id %.40s is not a valid JSON number", id) }
	digitsAt := func(i int) int {
		for i < len(id) && id[i] >= '0' && id[i] <= '9' {
			i++
		}
		return i
	}
	start := len(dst)
	dst = append(dst, 'n')
	i := 0
	if id[0] == '-' {
		dst = append(dst, '-')
		i++
	}
	mant := len(dst) // the digits, integer and fraction, go from here
	end := digitsAt(i)
	if end == i || id[i] == '0' && end > i+1 {
		return nil, bad()
	}
	dst = append(dst, id[i:end]...)
	exp := int64(0)
	if i = end; i < len(id) && id[i] == '.' {
		if end = digitsAt(i + 1); end == i+1 {
			return nil, bad()
		}
		dst = append(dst, id[i+1:end]...)
		exp -= int64(end - i - 1)
		i = end
	}
	if i < len(id) && (id[i] == 'e' || id[i] == 'E') {
		i++
		from := i
		if i < len(id) && (id[i] == '+' || id[i] == '-') {
			i++
		}
		if end = digitsAt(i); end == i || end != len(id) {
			return nil, bad()
		}
		e, err := strconv.ParseInt(string(id[from:end]), 10, 64)
		if err != nil || e > 1<<40 || e < -(1<<40) {
			// Out of any sensible range: keyed by its text.
			return append(append(dst[:start], 'n', '~'), id...), nil
		}
		exp += e
		i = end
	}
	if i != len(id) {
		return nil, bad()
	}
	digits := bytes.TrimLeft(dst[mant:], "0")
	if len(digits) == 0 {
		return append(dst[:start], 'n', '0'), nil
	}
	trimmed := bytes.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	dst = dst[:mant+copy(dst[mant:], trimmed)]
	return strconv.AppendInt(append(dst, 'e'), exp, 10), nil
}

// hashKey is the 64-bit FNV-1a hash of a canonical id key. Two ids with
// one hash are told apart by their keys, never confused.
func hashKey(key []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// quoteID shortens an id's JSON text for a message.
func quoteID(id []byte) string {
	if len(id) > 64 {
		return string(bytes.ToValidUTF8(id[:60], nil)) + "…"
	}
	return string(id)
}
