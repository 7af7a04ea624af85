package convergence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// mtsKey names MTS content: the features (base) and the recipe, in
// canonical JSON, together.
func mtsKey(base string, recipe []byte) string {
	sum := sha256.Sum256([]byte("mts content\n" + base + "\n" + canonicalJSON(recipe)))
	return hex.EncodeToString(sum[:])
}

// canonicalJSON is raw with its keys sorted and no spaces (raw itself if
// it is not JSON).
func canonicalJSON(raw []byte) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return string(raw)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return string(raw)
	}
	return string(out)
}

// featureSet is what a tileset's layer holds, feature by feature: the
// features with an id by their id, those without in a list; each as its
// line in canonical JSON.
type featureSet struct {
	byID map[string]string
	noID []string
}

// parseFeatures reads line-delimited GeoJSON features (a converted file,
// a tileset source).
func parseFeatures(data []byte) (*featureSet, error) {
	fs := &featureSet{byID: map[string]string{}}
	return fs, fs.each(data, func(id, line string, _ bool) error {
		switch {
		case id == "":
			fs.noID = append(fs.noID, line)
		case fs.byID[id] != "":
			return fmt.Errorf("two features with id %s", id)
		default:
			fs.byID[id] = line
		}
		return nil
	})
}

// apply applies a changeset: a feature replaces the one of its id (or is
// added), {"id": …, "delete": true} removes it.
func (fs *featureSet) apply(changeset []byte) error {
	return fs.each(changeset, func(id, line string, del bool) error {
		switch {
		case id == "":
			return fmt.Errorf("a changeset line without an id: %s", line)
		case del:
			delete(fs.byID, id)
		default:
			fs.byID[id] = line
		}
		return nil
	})
}

// each calls f with the id (canonical JSON, "" for none), the canonical
// line and whether it is a deletion, for every line of data.
func (fs *featureSet) each(data []byte, f func(id, line string, del bool) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var obj map[string]any
		d := json.NewDecoder(bytes.NewReader(text))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return fmt.Errorf("a line that is no JSON object: %q: %v", text, err)
		}
		id := ""
		if v, ok := obj["id"]; ok {
			b, _ := json.Marshal(v)
			id = string(b)
		}
		del, _ := obj["delete"].(bool)
		line, _ := json.Marshal(obj)
		if err := f(id, string(line), del); err != nil {
			return err
		}
	}
	return sc.Err()
}

// canon is the SHA-256 of the set: its lines sorted.
func (fs *featureSet) canon() string {
	lines := slices.Concat(slices.Collect(maps.Values(fs.byID)), fs.noID)
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

// maxzoomOf is the highest maxzoom of a recipe's layers, for people.
func maxzoomOf(recipe []byte) int {
	var r struct {
		Layers map[string]struct {
			Maxzoom int `json:"maxzoom"`
		} `json:"layers"`
	}
	json.Unmarshal(recipe, &r)
	top := 0
	for _, l := range r.Layers {
		top = max(top, l.Maxzoom)
	}
	return top
}

// TestFeatureSetReplay: the oracle's replay of a source and changesets
// gives the features the file converts to, whatever the order of lines,
// keys and spaces; a deletion removes by id, a feature replaces by id.
func TestFeatureSetReplay(t *testing.T) {
	source := `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"v":1}}
{"type":"Feature","id":2,"geometry":{"type":"Point","coordinates":[3,4]},"properties":{"v":1}}
{"type":"Feature","id":3,"geometry":{"type":"Point","coordinates":[5,6]},"properties":{"v":1}}
`
	changeset := `{"id":2,"delete":true}
{"type":"Feature","id":3,"geometry":{"type":"Point","coordinates":[5,6]},"properties":{"v":2}}
{"type":"Feature","id":4,"geometry":{"type":"Point","coordinates":[7,8]},"properties":{"v":2}}
`
	want := `{"properties":{"v":2},"id":4,"type":"Feature","geometry":{"coordinates":[7,8],"type":"Point"}}
{"type":"Feature","id":3, "geometry":{"type":"Point","coordinates":[5,6]},"properties":{"v":2}}
{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"v":1}}`
	fs, err := parseFeatures([]byte(source))
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.apply([]byte(changeset)); err != nil {
		t.Fatal(err)
	}
	w, err := parseFeatures([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if fs.canon() != w.canon() {
		t.Errorf("replayed %v, want %v", fs.byID, w.byID)
	}
	if _, err := parseFeatures([]byte(source + source)); err == nil {
		t.Errorf("two features with one id: no error")
	}
	if err := fs.apply([]byte(`{"type":"Feature","geometry":null,"properties":{}}`)); err == nil {
		t.Errorf("a changeset line without an id: no error")
	}
}
