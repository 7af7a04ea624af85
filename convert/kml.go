package convert

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// convertKML reads a KML file's placemarks, wherever they are (in
// Documents and Folders, at any depth), one feature each: Point,
// LineString, LinearRing (as a line), Polygon, gx:Track and gx:MultiTrack
// (as lines), and MultiGeometry of one kind of these (as a Multi*
// geometry; of several kinds it would be a GeometryCollection, refused).
// A placemark's id attribute becomes the feature's id; its name,
// description, TimeStamp (timestamp), TimeSpan (begin, end) and
// ExtendedData (Data and SchemaData values) its properties, all strings.
// Altitudes are dropped; styles, models and network links are not read.
func convertKML(src *source, r io.Reader, o *output) error {
	x := newXMLReader(src, r)
	k := &kmlReader{x: x, g: &geom{}}
	root := false
	for {
		se, err := x.next()
		if err == io.EOF {
			if !root {
				return x.fail(invalidf("no <kml> element: not a KML file"))
			}
			return nil
		}
		if err != nil {
			return x.fail(err)
		}
		switch se.Name.Local {
		case "kml":
			root = true
		case "Placemark":
			x.n++
			id, _ := attr(se, "id")
			k.g.reset()
			k.props = k.props[:0]
			if err := k.placemark(); err != nil {
				return x.fail(err)
			}
			if err := writeXMLFeature(o, id, k.g, k.props); err != nil {
				return x.fail(err)
			}
		case "Style", "StyleMap", "Schema", "NetworkLink", "GroundOverlay", "ScreenOverlay", "PhotoOverlay":
			if err := x.d.Skip(); err != nil {
				return x.fail(err)
			}
		}
	}
}

type kmlReader struct {
	x     *xmlReader
	g     *geom
	props []prop
	ring  []float64 // a polygon's ring being read
	holes []float64 // a polygon's inner rings, until its outer one is added
	ends  []int     // ends of the rings in holes
}

func (k *kmlReader) placemark() error {
	return k.x.children(func(c xml.StartElement) error {
		switch name := c.Name.Local; name {
		case "name", "description", "address":
			v, err := k.x.text()
			k.props = append(k.props, prop{key: name, value: v})
			return err
		case "TimeStamp", "TimeSpan":
			return k.x.children(func(t xml.StartElement) error {
				v, err := k.x.text()
				key := t.Name.Local
				if key == "when" {
					key = "timestamp"
				}
				k.props = append(k.props, prop{key: key, value: v})
				return err
			})
		case "ExtendedData":
			return k.extendedData()
		default:
			return k.geometry(c, 0)
		}
	})
}

// extendedData reads <Data name><value> and <SchemaData><SimpleData name>.
func (k *kmlReader) extendedData() error {
	return k.x.children(func(c xml.StartElement) error {
		switch c.Name.Local {
		case "Data":
			name, _ := attr(c, "name")
			return k.x.children(func(v xml.StartElement) error {
				if v.Name.Local != "value" {
					return k.x.d.Skip()
				}
				s, err := k.x.text()
				k.props = append(k.props, prop{key: name, value: s})
				return err
			})
		case "SchemaData":
			return k.x.children(func(v xml.StartElement) error {
				name, _ := attr(v, "name")
				if v.Name.Local != "SimpleData" || name == "" {
					return k.x.d.Skip()
				}
				s, err := k.x.text()
				k.props = append(k.props, prop{key: name, value: s})
				return err
			})
		}
		return k.x.d.Skip()
	})
}

// geometry reads a geometry element (or skips any other) into k.g.
func (k *kmlReader) geometry(se xml.StartElement, depth int) error {
	if depth > maxXMLDepth {
		return invalidf("geometries nested more than %d deep", maxXMLDepth)
	}
	switch se.Name.Local {
	case "Point", "LineString", "LinearRing":
		n := 0
		err := k.coordinates(func(x, y float64) {
			k.g.add(x, y)
			n++
		})
		switch {
		case err != nil:
			return err
		case se.Name.Local == "Point" && n > 0:
			k.g.xy = k.g.xy[:len(k.g.xy)-2*(n-1)] // a Point keeps its first position
			k.g.kinds[pieceP]++
		case se.Name.Local != "Point":
			k.g.endLine()
		}
		return nil
	case "Polygon":
		return k.polygon()
	case "MultiGeometry", "MultiTrack":
		return k.x.children(func(c xml.StartElement) error { return k.geometry(c, depth+1) })
	case "Track":
		if err := k.x.children(func(c xml.StartElement) error {
			if c.Name.Local != "coord" {
				return k.x.d.Skip()
			}
			v, err := k.x.text()
			if err != nil {
				return err
			}
			x, y, err := parseGxCoord(v)
			k.g.add(x, y)
			return err
		}); err != nil {
			return err
		}
		k.g.endLine()
		return nil
	}
	return k.x.d.Skip()
}

// coordinates reads the <coordinates> child of the element just started.
func (k *kmlReader) coordinates(fn func(x, y float64)) error {
	return k.x.children(func(c xml.StartElement) error {
		if c.Name.Local != "coordinates" {
			return k.x.d.Skip()
		}
		v, err := k.x.text()
		if err != nil {
			return err
		}
		return parseTuples(v, fn)
	})
}

// polygon reads a Polygon: its outer ring first, whatever the order of
// the boundaries in the file.
func (k *kmlReader) polygon() error {
	k.holes, k.ends = k.holes[:0], k.ends[:0]
	outer := false
	err := k.x.children(func(b xml.StartElement) error {
		inner := b.Name.Local == "innerBoundaryIs"
		if !inner && b.Name.Local != "outerBoundaryIs" {
			return k.x.d.Skip()
		}
		return k.x.children(func(r xml.StartElement) error {
			if r.Name.Local != "LinearRing" {
				return k.x.d.Skip()
			}
			if !inner {
				if outer {
					return invalidf("<Polygon> with two outer boundaries")
				}
				outer = true
				err := k.coordinates(k.g.add)
				k.g.endRing()
				return err
			}
			err := k.coordinates(func(x, y float64) { k.holes = append(k.holes, x, y) })
			k.ends = append(k.ends, len(k.holes)/2)
			return err
		})
	})
	if err != nil || !outer {
		return err
	}
	start := 0
	for _, end := range k.ends {
		for i := start; i < end; i++ {
			k.g.add(k.holes[2*i], k.holes[2*i+1])
		}
		k.g.endRing()
		start = end
	}
	k.g.endPolygon()
	return nil
}

// parseTuples reads KML coordinate tuples: numbers joined by commas
// within a tuple ("lon,lat[,alt]"; spaces around a comma tolerated),
// tuples separated by white space. It calls fn with each tuple's first two.
func parseTuples(s string, fn func(x, y float64)) error {
	i, tuple := 0, 0
	skip := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skip()
		if i == len(s) {
			return nil
		}
		tuple++
		var nums [2]float64
		n := 0
		for {
			start := i
			for i < len(s) && !isSpace(s[i]) && s[i] != ',' {
				i++
			}
			f, err := strconv.ParseFloat(s[start:i], 64)
			if err != nil {
				return invalidf("<coordinates> tuple %d: %q is not a number", tuple, s[start:i])
			}
			if n < 2 {
				nums[n] = f
			}
			n++
			skip()
			if i == len(s) || s[i] != ',' {
				break
			}
			i++ // the tuple goes on after its comma
			skip()
		}
		if n < 2 {
			return invalidf("<coordinates> tuple %d has one number, needs longitude and latitude", tuple)
		}
		fn(nums[0], nums[1])
	}
}

// parseGxCoord reads a gx:Track's <gx:coord>: "lon lat alt".
func parseGxCoord(s string) (x, y float64, err error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, 0, invalidf("<gx:coord> %q needs longitude and latitude", s)
	}
	if x, err = strconv.ParseFloat(f[0], 64); err == nil {
		y, err = strconv.ParseFloat(f[1], 64)
	}
	if err != nil {
		return 0, 0, invalidf("<gx:coord> %q: not numbers", s)
	}
	return x, y, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
