package convert

import (
	"errors"
	"fmt"
	"strings"
)

// The sentinels a conversion error wraps (test with errors.Is). Every error
// Convert returns for the file's content is an *Error wrapping exactly one
// of them; an error reading the file (or ctx's error) is returned as it is,
// wrapped with the file's name.
var (
	// ErrInvalid: the file is not valid for its format (bad syntax, a
	// coordinate that is not a finite longitude/latitude, a record past the
	// end of the file). The same bytes fail the same way: do not retry.
	ErrInvalid = errors.New("invalid data")

	// ErrUnsupported: the file is valid but holds what MTS cannot take and
	// tilesyncd does not convert (a GeometryCollection, a CRS it cannot
	// reproject, a shapefile of multipatches, an unknown file type).
	ErrUnsupported = errors.New("unsupported")

	// ErrNotVectorSource: the file is an MBTiles or a GeoTIFF, which are
	// tilesets or rasters, not MTS vector sources (the Uploads API takes them).
	ErrNotVectorSource = errors.New("not an MTS vector source")
)

// Error is a conversion failure tied to a place in the file. Fields that are
// unknown are zero; Feature, Line and Offset are 1-based, 1-based and 0-based.
type Error struct {
	File    string // the file, as named in the Input (a zip entry as zip:entry)
	Line    int    // line in the file, when the format has lines
	Feature int64  // the feature's (record's, row's, placemark's) number, counting from 1
	Offset  int64  // byte offset in the file, when known (-1 when not)
	Err     error  // wraps ErrInvalid, ErrUnsupported or ErrNotVectorSource
}

// Error prints "file: line 3: feature 2 (byte 120): reason".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Feature > 0 {
		fmt.Fprintf(&b, ": feature %d", e.Feature)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " (byte %d)", e.Offset)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the reason, which wraps one of the sentinels.
func (e *Error) Unwrap() error { return e.Err }

// kindError is a reason that belongs to one of the sentinels without
// saying so in its text: the sentinel's name is written once, in front,
// when the error gets its place (classified).
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string        { return e.err.Error() }
func (e *kindError) Unwrap() error        { return e.err }
func (e *kindError) Is(target error) bool { return target == e.kind }

// invalidf returns a reason of ErrInvalid.
func invalidf(format string, args ...any) error {
	return &kindError{ErrInvalid, fmt.Errorf(format, args...)}
}

// unsupportedf returns a reason of ErrUnsupported.
func unsupportedf(format string, args ...any) error {
	return &kindError{ErrUnsupported, fmt.Errorf(format, args...)}
}

// classified prefixes a reason with its sentinel, ErrInvalid when it
// belongs to none (a parser's own syntax error).
func classified(err error) error {
	for _, s := range []error{ErrNotVectorSource, ErrUnsupported, ErrInvalid} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w: %w", s, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// newError places a reason in a file.
func newError(file string, where at, err error) *Error {
	return &Error{File: file, Line: where.line, Feature: where.feature, Offset: where.offset, Err: classified(err)}
}
