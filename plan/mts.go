package plan

import (
	"fmt"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/format"
)

// Publish is the action `tilesyncd plan` shows for a file an MTS rule
// would publish. The daemon decides Upload for the files of both targets
// (Decision.Target tells them apart); only the plan's output says publish.
const Publish Action = "publish"

// PublishChangeset is the action `tilesyncd plan` shows for a file of an
// incremental MTS rule whose change would go as a changeset.
const PublishChangeset Action = "publish changeset"

// MaxMTSSourceFile is the most bytes one file of an MTS tileset source may
// have (Mapbox's limit, in decimal units as the others).
const MaxMTSSourceFile = 20 * 1000 * 1000 * 1000

// Conversion is what converting a file to line-delimited GeoJSON for MTS
// gave; `tilesyncd plan` fills it in for the files it would publish.
type Conversion struct {
	Kind              string `json:"kind"`
	Features          int64  `json:"features"`
	Bytes             int64  `json:"bytes"`
	SkippedNoGeometry int64  `json:"skipped_no_geometry,omitempty"`
	// Nested are the property keys whose object or array values MTS drops
	// at publish.
	Nested []string `json:"nested,omitempty"`
	// Changeset: the change would go as a changeset (PublishChangeset) of
	// Changed features (added or changed) and Removed ones.
	Changeset bool `json:"changeset,omitempty"`
	Changed   int  `json:"changed,omitempty"`
	Removed   int  `json:"removed,omitempty"`
}

// mts fills in an MTS rule's target t and returns the reason to refuse the
// file base of size bytes and format f for MTS (refusal is the Uploads
// API's, whose size limits do not apply: the file is converted first).
func (d *Decision) mts(t *config.MTSTarget, f format.Format, size int64, refusal string) string {
	d.Target, d.SourceID, d.Recipe, d.MTS = config.TargetMTS, t.SourceID, t.RecipeFile, t
	switch {
	case f.Name == "":
		return refusal // unsupported type, no extension
	case f.Name == format.MBTiles.Name || f.Name == format.TIFF.Name:
		return fmt.Sprintf("%s is not an MTS vector source (it takes GeoJSON, CSV, GPX, KML and shapefiles): send it with target: uploads", f.Name)
	case size == 0:
		return "empty file"
	case size > MaxMTSSourceFile:
		return fmt.Sprintf("too large for an MTS source (%s, limit %s)", format.HumanBytes(size), format.LimitString(MaxMTSSourceFile))
	}
	return ""
}
