// Package convert turns a geodata file into line-delimited GeoJSON, the only
// input the Mapbox Tiling Service (MTS) takes for a tileset source: one
// Feature a line, each "\n"-terminated, normalised to
//
//	{"type":"Feature","id":…,"geometry":{…},"properties":{…}}
//
// with "id" only where the source has one (MTS changesets key on it).
//
// # Formats
//
// Convert reads GeoJSON (a FeatureCollection, a single Feature or geometry,
// or line-delimited GeoJSON), CSV with latitude and longitude columns (the
// names the Uploads API recognises), GPX (waypoints, routes, tracks), KML
// (placemarks with points, lines, polygons, tracks and multi-geometries) and
// shapefiles, zipped or as a set of files. Detect tells the kind from the
// extension, or from the first bytes when the extension says nothing.
// MBTiles and GeoTIFF are refused with ErrNotVectorSource: they are not
// vector sources (the Uploads API takes them).
//
// # Streaming, in bounded memory
//
// Every reader streams: a FeatureCollection through json.Decoder's tokens,
// decoding one feature at a time, never the array; line-delimited GeoJSON a
// line at a time; CSV a row at a time; GPX and KML through encoding/xml's
// Token, holding one placemark, waypoint, route or track; a shapefile's .shp
// and .dbf record by record in step, from a zip entry's stream when zipped
// (the archive is read in place: nothing is extracted, no temporary file is
// made). Memory is bounded by the largest single feature plus fixed buffers
// (256 KiB each way), whatever the file's size; one line of line-delimited
// GeoJSON is limited to MaxRecordBytes.
//
// # Checks and normalisation
//
// Every position is checked: finite, a longitude in [-180, 180] and a
// latitude in [-90, 90] (after reprojection, for a shapefile with a
// projected .prj: see package crs for the projections and datums taken;
// any other is refused naming the CRS). A GeometryCollection, or a KML
// MultiGeometry mixing kinds, is refused (MTS does not take them). A
// feature without geometry, or with an empty one, is skipped and counted.
// Properties whose values are objects or arrays, which MTS drops at
// publish, are kept in the output and counted by key in Stats.Nested, for
// `tilesyncd plan` to show. Geometries built from non-GeoJSON formats have
// their polygon rings oriented as RFC 7946 says (exterior counterclockwise);
// GeoJSON geometries are passed through as they are, compacted.
//
// # Hashing
//
// Stats.SHA256 is the SHA-256 of exactly the bytes written to w: the part
// of the "unchanged" hash that is the converted data (the caller adds the
// recipe). The output is deterministic: the same input gives the same bytes.
//
// # Errors
//
// Bad or unsupported content gives an *Error naming the file and, where
// the format allows, the line, the feature's number and the byte offset,
// wrapping ErrInvalid or ErrUnsupported: permanent for those bytes. A
// failure to read the file or to write w is returned as it is. On any
// error the output is partial and must be discarded.
package convert
