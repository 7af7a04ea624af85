package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mtsConfig writes a configuration whose first rule is an MTS rule with
// rule's extra keys (indented under the rule) and recipe as
// recipes/r.json, and loads it.
func mtsConfig(t *testing.T, rule, recipe string) (*Config, error) {
	t.Helper()
	path := writeConfig(t, `mapbox:
  username: example
state:
  path: state/state.db
watch:
  - path: drop
rules:
  - match: "parcels/*.geojson"
    target: mts
    tileset: "{username}.parcels-{stem}"
`+rule+`
  - match: "*.geojson"
`)
	if recipe != "" {
		dir := filepath.Join(filepath.Dir(path), "recipes")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "r.json"), []byte(recipe), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Load(path, LoadOptions{})
}

const goodRecipe = `{"version": 1, "layers": {"{layer}": {"source": "{source}", "minzoom": 0, "maxzoom": 12}}}`

func TestMTSRuleTarget(t *testing.T) {
	cfg, err := mtsConfig(t, `    recipe: recipes/r.json
    source: "{stem}-src"
    layer: "{stem}"`, goodRecipe)
	if err != nil {
		t.Fatal(err)
	}
	tg, ok := cfg.Target(cfg.Watch[0], "parcels/North Side.geojson")
	if !ok || tg.MTS == nil {
		t.Fatalf("target %+v: want an MTS target", tg)
	}
	if tg.Tileset != "example.parcels-north-side" || tg.MTS.SourceID != "north-side-src" || tg.MTS.Layer != "north-side" {
		t.Errorf("target %s source %s layer %s", tg.Tileset, tg.MTS.SourceID, tg.MTS.Layer)
	}
	want := `{"layers":{"north-side":{"maxzoom":12,"minzoom":0,"source":"mapbox://tileset-source/example/north-side-src"}},"version":1}`
	if string(tg.MTS.Recipe) != want {
		t.Errorf("recipe\n%s\nwant\n%s", tg.MTS.Recipe, want)
	}
	if !cfg.HasMTS() {
		t.Error("HasMTS is false")
	}
	// The other rule is the Uploads API's.
	if tg, _ := cfg.Target(cfg.Watch[0], "roads.geojson"); tg.MTS != nil {
		t.Errorf("roads.geojson: %+v, want the Uploads API", tg)
	}
	if cfg.Mapbox.PublishesPerMinute != DefaultPublishesPerMinute || cfg.Mapbox.MTSMaxQueued != DefaultMTSMaxQueued {
		t.Errorf("defaults: %d publishes a minute, %d queued", cfg.Mapbox.PublishesPerMinute, cfg.Mapbox.MTSMaxQueued)
	}
}

// The source ID defaults to the tileset's name; a long one keeps 23
// characters and gains a hash, as tileset names do.
func TestMTSSourceID(t *testing.T) {
	cfg, err := mtsConfig(t, "    recipe: recipes/r.json", strings.ReplaceAll(goodRecipe, "{layer}", "parcels"))
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := cfg.Target(cfg.Watch[0], "parcels/a.geojson")
	if tg.MTS.SourceID != "parcels-a" {
		t.Errorf("source ID %q, want the tileset's name", tg.MTS.SourceID)
	}
	tg, _ = cfg.Target(cfg.Watch[0], "parcels/"+strings.Repeat("long", 10)+".geojson")
	if id := tg.MTS.SourceID; len(id) != 32 || id != TilesetName("parcels-"+strings.Repeat("long", 10)) {
		t.Errorf("long source ID %q", id)
	}
}

func TestMTSConfigErrors(t *testing.T) {
	tests := []struct {
		name, rule, recipe, want string
	}{
		{"no recipe", "", "", `:8: rules[0].recipe: missing`},
		{"recipe missing", "    recipe: recipes/none.json", "", "rules[0].recipe: recipes/none.json: open"},
		{"not JSON", "    recipe: recipes/r.json", `{"version": 1,`, "rules[0].recipe: recipes/r.json: not JSON"},
		{"no source", "    recipe: recipes/r.json", `{"version": 1, "layers": {"a": {"source": "x", "minzoom": 0, "maxzoom": 1}}}`, "has no {source}"},
		{"bad version", "    recipe: recipes/r.json", `{"version": 2, "layers": {"a": {"source": "{source}", "minzoom": 0, "maxzoom": 1}}}`, "version: 2 is not a supported version"},
		{"no layers", "    recipe: recipes/r.json", `{"version": 1, "layers": {}, "x": "{source}"}`, "layers: empty"},
		{"zoom order", "    recipe: recipes/r.json", `{"version": 1, "layers": {"a": {"source": "{source}", "minzoom": 14, "maxzoom": 12}}}`, "recipes/r.json: layers.a: minzoom 14 cannot be larger than maxzoom 12"},
		{"zoom range", "    recipe: recipes/r.json", `{"version": 1, "layers": {"a": {"source": "{source}", "minzoom": 0, "maxzoom": 23}}}`, "layers.a.maxzoom: 23 is not a zoom from 0 to 22"},
		{"zoom missing", "    recipe: recipes/r.json", `{"version": 1, "layers": {"a": {"source": "{source}", "minzoom": 0}}}`, "layers.a.maxzoom: missing"},
		{"too many layers", "    recipe: recipes/r.json", manyLayers(21), "21 layers, the most MTS takes is 20"},
		{"layer unused", "    recipe: recipes/r.json\n    layer: \"{stem}\"", `{"version": 1, "layers": {"a": {"source": "{source}", "minzoom": 0, "maxzoom": 1}}}`, "the recipe has no {layer}"},
		{"layer not given", "    recipe: recipes/r.json", goodRecipe, "uses {layer}, but the rule gives no layer"},
		{"incremental absent", "    recipe: recipes/r.json\n    incremental: true", strings.ReplaceAll(goodRecipe, "{layer}", "a"), `lacks "incremental": true`},
		{"bad placeholder", "    recipe: recipes/r.json\n    source: \"{stme}\"", strings.ReplaceAll(goodRecipe, "{layer}", "a"), "rules[0].source: unknown placeholder {stme}"},
		{"bad target", "    target: tiles", "", `"tiles" is not a target`},
		{"publishes", "", "", "mapbox.publishes_per_minute: 0 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule := tt.rule
			if tt.name == "bad target" {
				rule = ""
			}
			_, err := mtsConfigRaw(t, tt.name, rule, tt.recipe)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
			var ce *Error
			if err != nil && (!errors.As(err, &ce) || ce.Line == 0) {
				t.Errorf("error %v does not name a line", err)
			}
		})
	}
}

// mtsConfigRaw is mtsConfig with the few cases that change other keys.
func mtsConfigRaw(t *testing.T, name, rule, recipe string) (*Config, error) {
	t.Helper()
	switch name {
	case "bad target":
		path := writeConfig(t, "mapbox:\n  username: example\nstate:\n  path: s.db\nwatch:\n  - path: drop\nrules:\n  - match: \"*\"\n    target: tiles\n")
		return Load(path, LoadOptions{})
	case "publishes":
		path := writeConfig(t, "mapbox:\n  username: example\n  publishes_per_minute: 0\nstate:\n  path: s.db\nwatch:\n  - path: drop\nrules:\n  - match: \"*\"\n")
		return Load(path, LoadOptions{})
	}
	return mtsConfig(t, rule, recipe)
}

func manyLayers(n int) string {
	layers := map[string]any{}
	for i := range n {
		layers[string(rune('a'+i))] = map[string]any{"source": "{source}", "minzoom": 0, "maxzoom": 1}
	}
	b, _ := json.Marshal(map[string]any{"version": 1, "layers": layers})
	return string(b)
}

// A rule sending MBTiles or GeoTIFF to MTS is refused by its pattern; MTS
// keys on an Uploads API rule are errors.
func TestMTSRulePatterns(t *testing.T) {
	for _, tt := range []struct{ rule, want string }{
		{"  - match: \"*.mbtiles\"\n    target: mts\n    recipe: r.json\n", "matches MBTiles files, which MTS does not take"},
		{"  - regex: '^(?P<n>.*)\\.tiff?$'\n    target: mts\n    recipe: r.json\n", "matches GeoTIFF files"},
		{"  - match: \"*.geojson\"\n    recipe: r.json\n", "rules[0].recipe: is only for a rule with target: mts"},
	} {
		path := writeConfig(t, "mapbox:\n  username: example\nstate:\n  path: s.db\nwatch:\n  - path: drop\nrules:\n"+tt.rule)
		_, err := Load(path, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.rule, err, tt.want)
		}
	}
}

// A layer name with JSON's special characters stays a JSON string.
func TestRenderRecipeEscapes(t *testing.T) {
	out := renderRecipe(`{"layers":{"{layer}":{"source":"{source}"}}}`, `mapbox://x/"y"`, `a"b\c`)
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if _, ok := v["layers"].(map[string]any)[`a"b\c`]; !ok {
		t.Errorf("rendered %s", out)
	}
}

// FuzzCheckRecipe: any recipe text is accepted or refused with an error,
// never a panic; an accepted one renders to valid JSON.
func FuzzCheckRecipe(f *testing.F) {
	for _, s := range []string{goodRecipe, manyLayers(3), `{"version":1}`, `[]`, `{"version": 1, "layers": {"a": {"source": "{source}", "minzoom": 1.5, "maxzoom": 2}}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, err := canonicalJSON([]byte(s))
		if err != nil {
			return
		}
		m := &MTSRule{}
		if strings.Contains(string(text), "{layer}") {
			m.layer = template{{text: "stem", ph: true}}
		}
		if checkRecipe(string(text), m) != nil {
			return
		}
		out := renderRecipe(string(text), "mapbox://tileset-source/u/s", "l")
		if !json.Valid([]byte(out)) {
			t.Errorf("%q renders to invalid JSON %q", s, out)
		}
	})
}

// A rule whose layer template has a placeholder its tileset template
// lacks sends each file to a layer of one tileset: its key joins the
// tileset and the layer, its source is the layer's own.
func TestMTSLayersOfOneTileset(t *testing.T) {
	path := writeConfig(t, `mapbox:
  username: example
state:
  path: state/state.db
watch:
  - path: drop
rules:
  - match: "layers/*.geojson"
    target: mts
    tileset: "{username}.layers"
    recipe: recipes/r.json
    layer: "{stem}"
  - match: "parcels/*.geojson"
    target: mts
    tileset: "{username}.parcels-{stem}"
    recipe: recipes/r.json
    layer: "{stem}"
`)
	dir := filepath.Join(filepath.Dir(path), "recipes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "r.json"), []byte(goodRecipe), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ rel, key, tileset, source string }{
		{"layers/Roads.geojson", "example.layers#roads", "example.layers", "layers-roads"},
		{"parcels/north.geojson", "example.parcels-north", "example.parcels-north", "parcels-north"},
	} {
		tg, ok := cfg.Target(cfg.Watch[0], c.rel)
		if !ok || tg.MTS == nil || tg.Tileset != c.key || MTSTileset(tg.Tileset) != c.tileset || tg.MTS.SourceID != c.source {
			t.Errorf("%s: key %q (tileset %q), source %+v; want %q, %q, %q", c.rel, tg.Tileset, MTSTileset(tg.Tileset), tg.MTS, c.key, c.tileset, c.source)
		}
	}
}
