package crs

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrUnsupported is wrapped by Parse's error for a CRS it reads but
// cannot transform to WGS84 (the error names the CRS and why).
var ErrUnsupported = errors.New("unsupported CRS")

// CRS is a coordinate reference system read from a .prj, with the way to
// WGS84 longitude and latitude.
type CRS struct {
	// Name is the CRS's name as the .prj gives it ("WGS_1984_UTM_Zone_32N").
	Name string
	// Note is a caveat worth telling the user, or "" (a datum taken as WGS84).
	Note string

	inverse func(x, y float64) (lon, lat float64) // nil: x, y are lon, lat already
}

// Identity reports whether positions are lon/lat WGS84 (or taken as it) already.
func (c *CRS) Identity() bool { return c.inverse == nil }

// ToWGS84 returns the longitude and latitude, in degrees, of a position in c.
// A position outside the projection's domain gives NaN or values out of
// range, for the caller's check of every coordinate to refuse.
func (c *CRS) ToWGS84(x, y float64) (lon, lat float64) {
	if c.inverse == nil {
		return x, y
	}
	return c.inverse(x, y)
}

// Parse reads a .prj's well-known text. Geographic CRSs on WGS84, and on
// NAD83, ETRS89 and RGF93 (which PROJ itself transforms to WGS84 with a
// null transformation, within a metre or two; Note says so), need no
// transformation. Projected CRSs on those datums are inverted when their
// projection is Web Mercator, Mercator, Transverse Mercator (UTM, Gauss-
// Krüger) or Lambert Conformal Conic (1SP, 2SP), in any linear unit.
// Anything else is refused with an error naming the CRS and the reason,
// wrapping ErrUnsupported; text that is not WKT gives another error.
func Parse(wkt string) (*CRS, error) {
	root, err := parseWKT(strings.TrimSpace(strings.TrimPrefix(wkt, "\ufeff")))
	if err != nil {
		return nil, err
	}
	c := &CRS{Name: root.str(0)}
	switch root.name {
	case "GEOGCS", "GEOGCRS", "GEODCRS", "GEOGRAPHICCRS", "GEODETICCRS":
		_, note, err := datum(root)
		if err != nil {
			return nil, c.refuse(err.Error())
		}
		c.Note = note
		return c, nil
	case "PROJCS":
		return c.projected(root)
	case "PROJCRS", "PROJECTEDCRS":
		return nil, c.refuse("WKT2 projected CRSs are not read; save the .prj as WKT1 (ESRI), or reproject the data to WGS84")
	}
	return nil, fmt.Errorf("WKT: %s is not a coordinate reference system", root.name)
}

func (c *CRS) refuse(why string) error {
	return fmt.Errorf("%w %q: %s", ErrUnsupported, c.Name, why)
}

// ellipsoid is a datum's ellipsoid.
type ellipsoid struct{ a, f float64 }

// datum checks a geographic CRS node: the datum, the prime meridian and
// the angular unit, and returns the ellipsoid.
func datum(geog *node) (ellipsoid, string, error) {
	d := geog.child("DATUM", "ENSEMBLE", "GEODETICDATUM", "TRF")
	if d == nil {
		return ellipsoid{}, "", fmt.Errorf("it names no datum")
	}
	name := normalize(d.str(0))
	name = strings.TrimPrefix(name, "d") // ESRI's D_WGS_1984
	note := ""
	switch {
	case strings.Contains(name, "wgs1984") || strings.Contains(name, "wgs84") || strings.Contains(name, "worldgeodeticsystem1984"):
	case strings.Contains(name, "northamerican1983") || strings.Contains(name, "nad83") || strings.Contains(name, "nad1983"),
		strings.Contains(name, "europeanterrestrialreferencesystem1989") || strings.Contains(name, "etrs1989") || strings.Contains(name, "etrs89") || strings.Contains(name, "etrf"),
		strings.Contains(name, "rgf1993") || strings.Contains(name, "rgf93") || strings.Contains(name, "reseaugeodesiquefrancais1993"):
		note = fmt.Sprintf("datum %s is taken as WGS84 (as PROJ's null transformation does; within a metre or two)", d.str(0))
	default:
		return ellipsoid{}, "", fmt.Errorf("its datum %s needs a datum shift, which tilesyncd does not do: reproject the data to WGS84 (EPSG:4326)", d.str(0))
	}
	if pm := geog.child("PRIMEM"); pm != nil {
		if v, ok := pm.num(1); ok && v != 0 {
			return ellipsoid{}, "", fmt.Errorf("its prime meridian is %s, not Greenwich", pm.str(0))
		}
	}
	if u := geog.child("UNIT", "ANGLEUNIT"); u != nil {
		if v, ok := u.num(1); ok && math.Abs(v-math.Pi/180) > 1e-12 {
			return ellipsoid{}, "", fmt.Errorf("its angular unit is %s, not degrees", u.str(0))
		}
	}
	e := ellipsoid{a: 6378137, f: 1 / 298.257223563}
	if s := d.child("SPHEROID", "ELLIPSOID"); s != nil {
		a, ok1 := s.num(1)
		inv, ok2 := s.num(2)
		if ok1 && ok2 && a > 0 {
			e.a, e.f = a, 0
			if inv != 0 {
				e.f = 1 / inv
			}
		}
	}
	return e, note, nil
}

// projected reads a PROJCS and sets up its inverse.
func (c *CRS) projected(root *node) (*CRS, error) {
	geog := root.child("GEOGCS")
	if geog == nil {
		return nil, c.refuse("it names no geographic CRS")
	}
	e, note, err := datum(geog)
	if err != nil {
		return nil, c.refuse(err.Error())
	}
	c.Note = note
	unit := 1.0
	if u := root.child("UNIT"); u != nil {
		if v, ok := u.num(1); ok && v > 0 {
			unit = v
		}
	}
	proj := root.child("PROJECTION")
	if proj == nil {
		return nil, c.refuse("it names no projection")
	}
	method := normalize(proj.str(0))
	p := root.params()
	fe, fn := p["falseeasting"], p["falsenorthing"]
	deg := math.Pi / 180
	lon0 := first(p, 0, "centralmeridian", "longitudeofcenter", "longitudeoforigin", "longitudeofnaturalorigin") * deg
	var inv func(x, y float64) (float64, float64)
	switch {
	case c.webMercator(root, method, p):
		inv = webMercatorInverse(e.a, lon0)
	case method == "mercator" || method == "mercator1sp" || method == "mercator2sp":
		k0 := first(p, 1, "scalefactor")
		if sp, ok := p["standardparallel1"]; ok {
			k0 = mercatorScale(e, sp*deg)
		}
		inv = mercatorInverse(e, lon0, k0)
	case method == "transversemercator" || method == "gausskruger":
		inv = newTransverseMercator(e, lon0, first(p, 0, "latitudeoforigin")*deg, first(p, 1, "scalefactor")).inverse
	case strings.HasPrefix(method, "lambertconformalconic"):
		if strings.Contains(method, "belgium") || strings.Contains(method, "michigan") || strings.Contains(method, "west") {
			return nil, c.refuse(fmt.Sprintf("its projection %s is not supported", proj.str(0)))
		}
		l, err := newLambert(e, p, method)
		if err != nil {
			return nil, c.refuse(err.Error())
		}
		inv = l.inverse
	default:
		return nil, c.refuse(fmt.Sprintf("its projection %s is not one tilesyncd inverts (Web Mercator, Mercator, Transverse Mercator, Lambert Conformal Conic): reproject the data to WGS84 (EPSG:4326)", proj.str(0)))
	}
	c.inverse = func(x, y float64) (float64, float64) {
		lon, lat := inv((x-fe)*unit, (y-fn)*unit)
		return lon / deg, lat / deg
	}
	return c, nil
}

// webMercator recognises Web Mercator (EPSG:3857 and its older codes):
// Mercator on a sphere of the ellipsoid's semi-major axis.
func (c *CRS) webMercator(root *node, method string, p map[string]float64) bool {
	switch method {
	case "mercatorauxiliarysphere":
		return p["auxiliaryspheretype"] == 0
	case "popularvisualisationpseudomercator":
		return true
	case "mercator", "mercator1sp":
		if a := root.child("AUTHORITY"); a != nil {
			switch a.str(1) {
			case "3857", "3785", "900913", "102100", "102113":
				return true
			}
		}
		if x := root.child("EXTENSION"); x != nil {
			s := strings.Join(strings.Fields(x.str(1)), " ")
			return strings.Contains(s, "+a=6378137 +b=6378137")
		}
	}
	return false
}

// first returns the first parameter present of names, or def.
func first(p map[string]float64, def float64, names ...string) float64 {
	for _, n := range names {
		if v, ok := p[n]; ok {
			return v
		}
	}
	return def
}
