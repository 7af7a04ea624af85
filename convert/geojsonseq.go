package convert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxRecordBytes bounds one line of line-delimited GeoJSON (one feature),
// which is held whole while it is converted.
const MaxRecordBytes = 256 << 20

// rawLine is a line of line-delimited GeoJSON: a Feature, a bare geometry,
// or (as some tools write) a small FeatureCollection.
type rawLine struct {
	rawFeature
	Features []json.RawMessage `json:"features"`
}

// convertGeoJSONSeq reads line-delimited GeoJSON: one Feature a line, blank
// lines ignored; or, when the file starts with an RFC 8142 record
// separator (0x1E), one Feature per record, which may span lines.
func convertGeoJSONSeq(src *source, br *bufio.Reader, o *output) error {
	fw := featureWriter{o: o}
	delim := byte('\n')
	if head, _ := br.Peek(br.Size()); len(bytes.TrimLeft(head, " \t\r\n")) > 0 && bytes.TrimLeft(head, " \t\r\n")[0] == 0x1e {
		delim = 0x1e
	}
	var (
		buf    []byte
		line   = 1 // line where the record starts
		n      int64
		offset int64
		rl     rawLine
		rf     rawFeature
	)
	for {
		rec, err := readRecord(br, delim, &buf)
		if err != nil && err != io.EOF {
			if errors.Is(err, errTooLong) {
				return src.fail(at{line: line, feature: n + 1, offset: offset}, invalidf("record is over %d MiB", MaxRecordBytes>>20))
			}
			return src.fail(at{line: line, offset: offset}, err)
		}
		recLine, recOffset := line, offset
		offset += int64(len(rec))
		if delim == '\n' {
			line++
		} else {
			recLine += leadingNewlines(rec)
			line += bytes.Count(rec, []byte("\n"))
		}
		if t := bytes.TrimSpace(bytes.Trim(rec, "\x1e")); len(t) > 0 {
			n++
			where := at{line: recLine, feature: n, offset: recOffset}
			rl.reset()
			rl.Features = rl.Features[:0]
			if uerr := json.Unmarshal(t, &rl); uerr != nil {
				return src.fail(where, jsonError(uerr))
			}
			if rl.Type == "FeatureCollection" {
				if ferr := lineCollection(&fw, &rf, rl.Features); ferr != nil {
					return src.fail(where, ferr)
				}
			} else if ferr := fw.feature(&rl.rawFeature); ferr != nil {
				return src.fail(where, ferr)
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// lineCollection writes the features of a FeatureCollection on one line.
func lineCollection(fw *featureWriter, rf *rawFeature, features []json.RawMessage) error {
	for i, raw := range features {
		rf.reset()
		if err := json.Unmarshal(raw, rf); err != nil {
			return fmt.Errorf("features[%d]: %w", i, jsonError(err))
		}
		if err := fw.feature(rf); err != nil {
			return fmt.Errorf("features[%d]: %w", i, err)
		}
	}
	return nil
}

// readRecord returns the bytes up to and including the next delim (the
// last record may lack it, with io.EOF), in *buf when it spans more than
// br's buffer. The record is valid until the next call.
func readRecord(br *bufio.Reader, delim byte, buf *[]byte) ([]byte, error) {
	frag, err := br.ReadSlice(delim)
	if err != bufio.ErrBufferFull {
		return frag, err
	}
	*buf = append((*buf)[:0], frag...)
	for err == bufio.ErrBufferFull {
		frag, err = br.ReadSlice(delim)
		if len(*buf)+len(frag) > MaxRecordBytes {
			return nil, errTooLong
		}
		*buf = append(*buf, frag...)
	}
	return *buf, err
}

func leadingNewlines(rec []byte) int {
	n := 0
	for _, c := range rec {
		switch c {
		case '\n':
			n++
		case ' ', '\t', '\r', 0x1e:
		default:
			return n
		}
	}
	return n
}
