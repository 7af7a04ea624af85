package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// A recipe template is an MTS recipe in JSON with {source} where the
// tileset source's URI goes and, when the rule names the layer, {layer}
// where its name goes. It is checked when the configuration loads, as MTS
// would check it (version, layers, zoom range), so that a recipe MTS would
// refuse never costs a request; MTS checks it again at create and publish.

// Dummy values the template is checked with.
const (
	checkSource = "mapbox://tileset-source/user/source-id"
	checkLayer  = "layer"
)

// checkRecipe checks the canonical recipe template text for the rule m.
func checkRecipe(text string, m *MTSRule) error {
	if !strings.Contains(text, "{source}") {
		return fmt.Errorf("has no {source}: write \"source\": \"{source}\" in the layer the files feed")
	}
	usesLayer := strings.Contains(text, "{layer}")
	switch {
	case m.layer != nil && !usesLayer:
		return fmt.Errorf("the rule gives a layer, but the recipe has no {layer} to put it in")
	case m.layer == nil && usesLayer:
		return fmt.Errorf("uses {layer}, but the rule gives no layer: template")
	}
	dec := json.NewDecoder(strings.NewReader(renderRecipe(text, checkSource, checkLayer)))
	dec.UseNumber()
	var recipe map[string]any
	if err := dec.Decode(&recipe); err != nil {
		return fmt.Errorf("is not a JSON object: %v", err)
	}
	if v, ok := recipe["version"]; !ok {
		return fmt.Errorf("version: missing (MTS recipes are version 1)")
	} else if n, ok := integer(v); !ok || n != 1 {
		return fmt.Errorf("version: %v is not a supported version (1)", v)
	}
	if v, ok := recipe["incremental"]; ok {
		if _, isBool := v.(bool); !isBool {
			return fmt.Errorf("incremental: %v is not true or false", v)
		}
	}
	if m.Incremental && recipe["incremental"] != true {
		return fmt.Errorf("the rule says incremental: true, but the recipe lacks \"incremental\": true")
	}
	layers, ok := recipe["layers"].(map[string]any)
	switch {
	case !ok:
		return fmt.Errorf("layers: missing or not an object")
	case len(layers) == 0:
		return fmt.Errorf("layers: empty (a recipe needs at least one layer)")
	case len(layers) > MaxRecipeLayers:
		return fmt.Errorf("layers: %d layers, the most MTS takes is %d", len(layers), MaxRecipeLayers)
	}
	names := make([]string, 0, len(layers))
	for name := range layers {
		names = append(names, name)
	}
	sort.Strings(names)
	fed := false
	for _, name := range names {
		at := "layers." + name
		if name == checkLayer && strings.Contains(text, `"{layer}":`) {
			at = "layers.{layer}"
		}
		l, ok := layers[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", at)
		}
		src, ok := l["source"].(string)
		if !ok {
			return fmt.Errorf("%s.source: missing or not a string", at)
		}
		fed = fed || src == checkSource
		if err := checkZooms(at, l); err != nil {
			return err
		}
	}
	if !fed {
		return fmt.Errorf("no layer's source is \"{source}\": {source} must be a layer's whole source")
	}
	return nil
}

// checkZooms checks a layer's minzoom and maxzoom.
func checkZooms(at string, l map[string]any) error {
	var z [2]int64
	for i, key := range []string{"minzoom", "maxzoom"} {
		v, ok := l[key]
		if !ok {
			return fmt.Errorf("%s.%s: missing", at, key)
		}
		n, ok := integer(v)
		if !ok || n < 0 || n > MaxRecipeZoom {
			return fmt.Errorf("%s.%s: %v is not a zoom from 0 to %d", at, key, v, MaxRecipeZoom)
		}
		z[i] = n
	}
	if z[0] > z[1] {
		return fmt.Errorf("%s: minzoom %d cannot be larger than maxzoom %d", at, z[0], z[1])
	}
	return nil
}

// integer reads a JSON number that is a whole number.
func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// renderRecipe fills a canonical recipe template: {source} with the
// source's URI and {layer} with the layer's name, each escaped as JSON
// string content.
func renderRecipe(tmpl, sourceURI, layer string) string {
	return strings.NewReplacer("{source}", jsonText(sourceURI), "{layer}", jsonText(layer)).Replace(tmpl)
}

// jsonText is s escaped for use inside a JSON string (no quotes around it).
func jsonText(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// target renders where the rule sends a file of tileset, its placeholders'
// values given by get; nil for a rule that is not MTS's.
func (m *MTSRule) target(username, tileset string, get func(string) string) *MTSTarget {
	if m == nil {
		return nil
	}
	_, name, _ := strings.Cut(tileset, ".")
	t := &MTSTarget{SourceID: name, RecipeFile: m.RecipeName, Incremental: m.Incremental}
	if m.source != nil {
		t.SourceID = TilesetName(m.source.render(get))
	}
	if m.layer != nil {
		t.Layer = TilesetName(m.layer.render(get))
	}
	if m.layers && m.source == nil {
		t.SourceID = TilesetName(name + "-" + t.Layer) // a source per layer
	}
	t.Recipe = m.Recipe(username, t.SourceID, t.Layer)
	return t
}

// Recipe renders the rule's recipe for tileset source sourceID of account
// username and layer (used only when the recipe has {layer}); nil before
// Validate read it.
func (m *MTSRule) Recipe(username, sourceID, layer string) json.RawMessage {
	if m == nil || m.recipe == "" {
		return nil
	}
	return json.RawMessage(renderRecipe(m.recipe, "mapbox://tileset-source/"+username+"/"+sourceID, layer))
}
