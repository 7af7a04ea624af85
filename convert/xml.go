package convert

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tilesyncd/tilesyncd/convert/internal/charset"
)

// maxXMLDepth bounds the nesting of geometries (KML MultiGeometry) that
// the readers recurse into.
const maxXMLDepth = 64

// xmlReader streams an XML file token by token (encoding/xml), for GPX and
// KML: one feature's elements are held at a time, never the document.
type xmlReader struct {
	src *source
	d   *xml.Decoder
	n   int64 // features read so far, skipped ones included
}

func newXMLReader(src *source, r io.Reader) *xmlReader {
	d := xml.NewDecoder(r)
	d.Entity = xml.HTMLEntity // &nbsp; and friends appear in KML descriptions
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		enc, ok := charset.Lookup(label)
		if !ok {
			return nil, unsupportedf("unknown XML encoding %q", label)
		}
		if enc == nil {
			return in, nil
		}
		return enc.NewDecoder().Reader(in), nil
	}
	return &xmlReader{src: src, d: d}
}

// fail reports err at the decoder's position.
func (x *xmlReader) fail(err error) error {
	line, _ := x.d.InputPos()
	if se, ok := err.(*xml.SyntaxError); ok {
		line = se.Line
	}
	return x.src.fail(at{line: line, feature: x.n, offset: x.d.InputOffset()}, err)
}

// next returns the next start element at any depth, or io.EOF.
func (x *xmlReader) next() (xml.StartElement, error) {
	for {
		tok, err := x.d.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

// children calls fn for each child element of the element just started,
// until its end; fn must consume the child (read to its end or Skip).
func (x *xmlReader) children(fn func(se xml.StartElement) error) error {
	for {
		tok, err := x.d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// text returns the character data of the element just started, nested
// elements' included, trimmed, and reads to its end.
func (x *xmlReader) text() (string, error) {
	var b strings.Builder
	depth := 1
	for depth > 0 {
		tok, err := x.d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// attr returns the value of the attribute with the local name.
func attr(se xml.StartElement, local string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// floatAttr parses a required numeric attribute.
func floatAttr(se xml.StartElement, local string) (float64, error) {
	v, ok := attr(se, local)
	if !ok {
		return 0, invalidf("<%s> has no %s attribute", se.Name.Local, local)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, invalidf("<%s %s=%q>: not a number", se.Name.Local, local, v)
	}
	return f, nil
}

// prop is a property read from XML, written when its feature is.
type prop struct {
	key, value string
	number     bool // value is a JSON number
}

// writeXMLFeature writes a feature whose geometry is g and properties props,
// or counts it as skipped when g is empty.
func writeXMLFeature(o *output, id string, g *geom, props []prop) error {
	if g.empty() {
		o.skip()
		return nil
	}
	var idb []byte
	if id != "" {
		idb = appendJSONString(nil, id)
	}
	o.begin(idb)
	var err error
	if o.line, err = appendGeom(o.line, g); err != nil {
		return fmt.Errorf("geometry: %w", err)
	}
	o.beginProps()
	for _, p := range props {
		if p.number {
			o.raw(p.key, p.value)
		} else {
			o.str(p.key, p.value)
		}
	}
	return o.endProps()
}
