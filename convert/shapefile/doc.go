// Package shapefile reads ESRI shapefiles as streams, record by record: the
// geometry of a .shp (Reader) and the attributes of its .dbf (DBF), each from
// an io.Reader, so that a shapefile inside a zip is read without extracting
// it and a file of any size in memory bounded by its largest record.
//
// Shapes are points, multipoints, polylines and polygons, with their Z and M
// variants read as the plain ones (X and Y kept, Z and M dropped).
// Multipatches are refused. Polygon rings are grouped into polygons by the
// shapefile's convention (exteriors clockwise, holes counterclockwise) and
// containment (Shape.Polygons).
//
// Attributes are the dBASE types C (text), N and F (numbers), L (logical),
// D (date), I and + (32-bit integers), O (double) and @/T (timestamps); memo
// and binary fields (M, B, G, P), which need a file beside the .dbf, read as
// null and are listed by DBF.Skipped. Text is decoded by the .cpg's code page
// when there is one; else a value that is valid UTF-8 is taken as UTF-8 and
// any other is decoded by the .dbf's language driver byte, or as
// Windows-1252 (a superset of Latin-1) when that says nothing.
//
// Every count and offset in the files is checked against the data actually
// there before anything is allocated for it: a corrupt or hostile file gives
// an error naming the record, never a panic or an allocation it cannot back.
package shapefile
