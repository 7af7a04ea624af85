// Package changeset computes the changeset between two versions of a
// converted file: what to send the Mapbox Tiling Service (MTS) instead of
// the whole file, when few of its features changed.
//
// The versions are line-delimited GeoJSON as package convert writes it,
// one Feature a line, each keyed by its top-level "id". The last published
// version is not kept: its index is, a file in the state folder with one
// small record per feature (a 64-bit hash of the id, the first 128 bits of
// the line's SHA-256, the id's JSON text). Diff reads the new version and
// the old index and writes the changeset, MTS's format: each added or
// changed feature's line as it is, and {"id":…,"delete":true} for each
// removed id; it writes the new version's index too (the sender keeps one
// per published content, named by the content's hash, so the index of
// what a tileset holds is the one its state names). Build writes an index
// alone, for a version published in full.
//
// # Ids
//
// Ids are compared as JSON values: "A" and "\u0041" are one id, so are 1,
// 1.0 and 1e0; a number and a string never are (1 and "1" are two ids).
// Since MTS documents none of this, an id whose spelling changed since it
// was published (1.0 for 1) makes Diff fall back to a full publish, and
// deletions come first in a changeset, so that a removed 1 and an added "1"
// leave the feature present whether MTS takes them for one id or two. A
// feature without an id, an id on two features, two ids of one 64-bit hash
// (told apart by their text, never confused), an index missing, corrupt
// (its CRC-32C, its order, each record's hash of its id are checked) or of
// another format version, or a share of changed features over the limit
// (DefaultMaxShare, Mapbox's guidance) all give Full: publish in full.
//
// # Bounded memory
//
// Nothing holds a map of ids or a whole file. The new version is read a
// line at a time (a line up to MaxLineBytes is held whole); its records
// are sorted by id hash in chunks of at most 2^18 records (10 MiB) and
// 4 MiB of ids, each chunk but the last spilled to a temporary run file
// beside the new index, and the runs merged with the old index, which is
// sorted the same way, in one pass. What changed is kept as one bit per
// line of the new version and per record of the old index; the changeset
// is then written by reading the old index and the new version once more,
// so nothing is written to w when Diff falls back. A million features
// diff in about 30 MB of heap (make bench, figure 11b).
package changeset
