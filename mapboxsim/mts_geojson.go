package mapboxsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// InvalidFeaturesMessage begins the 400 for an upload that is not
// line-delimited GeoJSON features (the Tilesets CLI's tests show it); the
// simulator adds the line and what is wrong with it.
const InvalidFeaturesMessage = "Invalid file format. Only GeoJSON features are allowed."

// maxLine bounds one line (one feature) of an upload.
const maxLine = 64 << 20

// geometryTypes are the GeoJSON geometry types.
var geometryTypes = map[string]bool{"Point": true, "MultiPoint": true, "LineString": true, "MultiLineString": true,
	"Polygon": true, "MultiPolygon": true, "GeometryCollection": true}

// lineChecker checks line-delimited GeoJSON as it is written, one line at
// a time without holding more than a line, and counts the features (for a
// changeset, its lines: features and deletions). Blank lines are skipped.
// The first bad line stops it: Write returns an error and err says why,
// naming the line.
type lineChecker struct {
	kind     fileKind
	buf      []byte
	line     int
	features int
	err      error
}

func (c *lineChecker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && c.err == nil {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.buf = append(c.buf, p...)
			if len(c.buf) > maxLine {
				c.err = fmt.Errorf("line %d is longer than %d bytes", c.line+1, maxLine)
			}
			break
		}
		c.buf = append(c.buf, p[:i]...)
		c.check()
		p = p[i+1:]
	}
	if c.err != nil {
		return 0, c.err
	}
	return n, nil
}

// finish checks the last line, which may lack its newline.
func (c *lineChecker) finish() error {
	if c.err == nil && len(c.buf) > 0 {
		c.check()
	}
	return c.err
}

// check checks the line in buf and empties buf.
func (c *lineChecker) check() {
	c.line++
	line := bytes.TrimSpace(c.buf)
	c.buf = c.buf[:0]
	if len(line) == 0 {
		return
	}
	if err := checkLine(c.kind, line); err != nil {
		c.err = fmt.Errorf("line %d: %w", c.line, err)
		return
	}
	c.features++
}

// checkLine checks one line: a GeoJSON Feature with a geometry; in a
// changeset, a Feature with an id, or exactly {"id": …, "delete": true}.
func checkLine(kind fileKind, line []byte) error {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(line, &f); err != nil {
		return errors.New("not a JSON object")
	}
	id, hasID := f["id"]
	if kind == kindChangeset && hasID && string(id) == "null" {
		hasID = false
	}
	if del, ok := f["delete"]; ok && kind == kindChangeset {
		if string(del) != "true" || !hasID || len(f) != 2 {
			return errors.New(`a deletion must be exactly {"id": …, "delete": true}`)
		}
		return nil
	}
	var typ string
	if json.Unmarshal(f["type"], &typ) != nil || typ != "Feature" {
		return errors.New(`not a GeoJSON Feature ("type": "Feature")`)
	}
	var g struct {
		Type string `json:"type"`
	}
	if raw, ok := f["geometry"]; !ok || json.Unmarshal(raw, &g) != nil || !geometryTypes[g.Type] {
		return errors.New("the feature has no valid geometry")
	}
	if kind == kindChangeset && !hasID {
		return errors.New("a changeset feature needs an id")
	}
	return nil
}
