package convert

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what Stats lists, so that a file of any size gives a report of
// bounded size: counts stay exact, lists stop growing.
const (
	MaxNestedKeys = 64 // distinct nested-property keys listed in Stats.Nested
	MaxWarnings   = 32 // warnings kept in Stats.Warnings
)

// Stats describes a conversion.
type Stats struct {
	Kind              Kind   // the input's kind, as detected or given
	Features          int64  // features written
	SkippedNoGeometry int64  // features skipped for having no (or an empty) geometry
	Bytes             int64  // bytes written to w
	SHA256            string // hex SHA-256 of the bytes written to w

	// Nested lists the property keys whose values are objects or arrays
	// (MTS drops such values at publish), with how many features carry one,
	// most frequent first, at most MaxNestedKeys keys; NestedOther counts
	// the features' nested values under keys past that bound.
	Nested      []KeyCount
	NestedOther int64

	// Warnings are things worth telling the user that did not stop the
	// conversion (at most MaxWarnings; WarningsDropped counts the rest).
	Warnings        []string
	WarningsDropped int64
}

// KeyCount is a property key and how many features carry it.
type KeyCount struct {
	Key   string
	Count int64
}

// output writes features as line-delimited GeoJSON and keeps the Stats.
// Every line is built in line and written at once, so a failure while
// building a feature writes nothing of it.
type output struct {
	bw     *bufio.Writer
	sum    hash.Hash
	n      int64 // bytes handed to the underlying writer
	w      io.Writer
	line   []byte
	stats  Stats
	nested map[string]int64
	seen   map[string]bool // keys of the feature being built, for nonJSON formats
}

func newOutput(w io.Writer, kind Kind) *output {
	o := &output{w: w, sum: sha256.New(), nested: map[string]int64{}, seen: map[string]bool{}}
	o.stats.Kind = kind
	o.bw = bufio.NewWriterSize(writerFunc(o.write), 256<<10)
	return o
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (o *output) write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	o.sum.Write(p[:n])
	o.n += int64(n)
	return n, err
}

// finish flushes and returns the stats.
func (o *output) finish() (Stats, error) {
	err := o.bw.Flush()
	s := o.stats
	s.Bytes = o.n
	s.SHA256 = hex.EncodeToString(o.sum.Sum(nil))
	for k, c := range o.nested {
		s.Nested = append(s.Nested, KeyCount{k, c})
	}
	slices.SortFunc(s.Nested, func(a, b KeyCount) int {
		if a.Count != b.Count {
			return int(min(max(b.Count-a.Count, -1), 1))
		}
		return strings.Compare(a.Key, b.Key)
	})
	if err != nil {
		return s, &writeError{err}
	}
	return s, nil
}

func (o *output) warnf(format string, args ...any) {
	if len(o.stats.Warnings) >= MaxWarnings {
		o.stats.WarningsDropped++
		return
	}
	o.stats.Warnings = append(o.stats.Warnings, fmt.Sprintf(format, args...))
}

// nestedKey counts a key whose value is an object or an array.
func (o *output) nestedKey(key string) {
	if _, ok := o.nested[key]; ok || len(o.nested) < MaxNestedKeys {
		o.nested[key]++
		return
	}
	o.stats.NestedOther++
}

// skip counts a feature without geometry.
func (o *output) skip() { o.stats.SkippedNoGeometry++ }

// begin starts a feature's line with its id (raw JSON, a string or a
// number, or nil) and "geometry":. The geometry follows, then props, then end.
func (o *output) begin(id []byte) {
	o.line = append(o.line[:0], `{"type":"Feature",`...)
	if id != nil {
		o.line = append(o.line, `"id":`...)
		o.line = append(o.line, id...)
		o.line = append(o.line, ',')
	}
	o.line = append(o.line, `"geometry":`...)
}

// beginProps ends the geometry and opens the properties object.
func (o *output) beginProps() {
	o.line = append(o.line, `,"properties":{`...)
	clear(o.seen)
}

// key appends a property's key (and a comma before it unless it is the
// first). A key the feature already has is renamed key_2, key_3…: JSON
// objects with duplicate names are read differently by different readers.
func (o *output) key(k string) {
	if o.line[len(o.line)-1] != '{' {
		o.line = append(o.line, ',')
	}
	if o.seen[k] {
		for i := 2; ; i++ {
			if c := fmt.Sprintf("%s_%d", k, i); !o.seen[c] {
				k = c
				break
			}
		}
	}
	o.seen[k] = true
	o.line = appendJSONString(o.line, k)
	o.line = append(o.line, ':')
}

// str appends a string property.
func (o *output) str(k, v string) {
	o.key(k)
	o.line = appendJSONString(o.line, v)
}

// raw appends a property whose value is raw JSON (a number, true, false, null).
func (o *output) raw(k, v string) {
	o.key(k)
	o.line = append(o.line, v...)
}

// endProps closes the properties and writes the line.
func (o *output) endProps() error {
	o.line = append(o.line, "}}\n"...)
	return o.flushLine()
}

// rawProps appends an already encoded, compact properties object (or
// "{}") and writes the line.
func (o *output) rawProps(props []byte) error {
	o.line = append(o.line, `,"properties":`...)
	o.line = append(o.line, props...)
	o.line = append(o.line, "}\n"...)
	return o.flushLine()
}

func (o *output) flushLine() error {
	if _, err := o.bw.Write(o.line); err != nil {
		return &writeError{err}
	}
	o.stats.Features++
	return nil
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD; the line separators U+2028 and U+2029 are escaped, as
// encoding/json does, so the output is also valid JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0xFFFD && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// isJSONNumber reports whether s is a number in JSON's grammar
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) that a float64 holds
// (no overflow to infinity, which readers would choke on).
func isJSONNumber(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	if i != len(s) {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// writeError is a failure to write the output, never the input's fault.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write output: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
