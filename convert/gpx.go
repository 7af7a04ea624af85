package convert

import (
	"encoding/xml"
	"fmt"
	"io"
)

// gpxNumbers are the GPX elements whose values are numbers.
var gpxNumbers = map[string]bool{
	"ele": true, "course": true, "speed": true, "magvar": true, "geoidheight": true,
	"hdop": true, "vdop": true, "pdop": true, "sat": true, "ageofdgpsdata": true,
	"dgpsid": true, "number": true,
}

// convertGPX reads a GPX file's waypoints (Points), routes (LineStrings)
// and tracks (a LineString, or a MultiLineString for several segments), in
// document order. A feature's simple child elements (name, desc, ele, time,
// sym, type…) become its properties and <link> its href; <extensions> and
// the elements of the points along a route or track are not read. A route
// or segment of fewer than two points adds no line.
func convertGPX(src *source, r io.Reader, o *output) error {
	x := newXMLReader(src, r)
	g := &geom{}
	var props []prop
	root := false
	for {
		se, err := x.next()
		if err == io.EOF {
			if !root {
				return x.fail(invalidf("no <gpx> element: not a GPX file"))
			}
			return nil
		}
		if err != nil {
			return x.fail(err)
		}
		switch se.Name.Local {
		case "gpx":
			root = true
		case "wpt", "rte", "trk":
			x.n++
			g.reset()
			props = props[:0]
			if err := x.gpxFeature(se, g, &props); err != nil {
				return x.fail(err)
			}
			if err := writeXMLFeature(o, "", g, props); err != nil {
				return x.fail(err)
			}
		case "metadata", "extensions":
			if err := x.d.Skip(); err != nil {
				return x.fail(err)
			}
		}
	}
}

// gpxFeature reads a wpt, rte or trk element into g and props.
func (x *xmlReader) gpxFeature(se xml.StartElement, g *geom, props *[]prop) error {
	kind := se.Name.Local
	if kind == "wpt" {
		lon, lat, err := gpxPoint(se)
		if err != nil {
			return err
		}
		g.point(lon, lat)
	}
	err := x.children(func(c xml.StartElement) error {
		switch name := c.Name.Local; {
		case kind == "rte" && name == "rtept":
			lon, lat, err := gpxPoint(c)
			if err != nil {
				return err
			}
			g.add(lon, lat)
			return x.d.Skip()
		case kind == "trk" && name == "trkseg":
			if err := x.children(func(p xml.StartElement) error {
				if p.Name.Local == "trkpt" {
					lon, lat, err := gpxPoint(p)
					if err != nil {
						return err
					}
					g.add(lon, lat)
				}
				return x.d.Skip()
			}); err != nil {
				return err
			}
			g.endLine()
			return nil
		case name == "extensions", name == "rtept", name == "trkseg":
			return x.d.Skip()
		case name == "link":
			if href, ok := attr(c, "href"); ok {
				*props = append(*props, prop{key: "link", value: href})
			}
			return x.d.Skip()
		default:
			v, err := x.text()
			if err != nil {
				return err
			}
			*props = append(*props, prop{key: name, value: v, number: gpxNumbers[name] && isJSONNumber(v)})
			return nil
		}
	})
	if err != nil {
		return err
	}
	if kind == "rte" {
		g.endLine()
	}
	return nil
}

func gpxPoint(se xml.StartElement) (lon, lat float64, err error) {
	if lat, err = floatAttr(se, "lat"); err != nil {
		return 0, 0, err
	}
	if lon, err = floatAttr(se, "lon"); err != nil {
		return 0, 0, err
	}
	if err := checkLonLat(lon, lat); err != nil {
		return 0, 0, fmt.Errorf("<%s>: %w", se.Name.Local, err)
	}
	return lon, lat, nil
}
