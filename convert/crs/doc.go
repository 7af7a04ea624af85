// Package crs reads the coordinate reference system of a shapefile's .prj
// (well-known text) and transforms its positions to WGS84 longitude and
// latitude, the only coordinates the Mapbox Tiling Service takes.
//
// It is pure Go, for tilesyncd's static cross-builds: no well-kept pure-Go
// projection library was found (the PROJ bindings need cgo; the pure-Go
// ones are unmaintained or alpha), so it implements the inverses of the
// projections most shapefiles use, from the published formulas, checked
// against PROJ's cs2cs: Web Mercator, Mercator, Transverse Mercator (UTM,
// Gauss-Krüger, many state planes) and Lambert Conformal Conic (Lambert-93,
// many state planes), in any linear unit.
//
// It does no datum shifts. Datums that PROJ itself takes as WGS84 with a
// null transformation (NAD83, ETRS89, RGF93: within a metre or two) are
// accepted with a note; any other datum, projection, prime meridian or
// angular unit is refused with an error naming the CRS and the reason, so
// the user can reproject the data to EPSG:4326 with a full tool.
package crs
