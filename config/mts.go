package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
)

// Targets a rule may send its files to (rules[].target).
const (
	TargetUploads = "uploads" // the Uploads API (the default)
	TargetMTS     = "mts"     // the Mapbox Tiling Service: a tileset source, a recipe, a publish
)

// Defaults and bounds of the MTS settings.
const (
	// DefaultPublishesPerMinute is Mapbox's limit on publishes (its MTS reference).
	DefaultPublishesPerMinute = 2
	// DefaultMTSMaxQueued is the most jobs Mapbox lets an account have queued.
	DefaultMTSMaxQueued = 5
	// MaxRecipeLayers is the most layers a recipe may have.
	MaxRecipeLayers = 20
	// MaxRecipeZoom is the highest zoom a recipe may ask (17 to 22 are the
	// 1 cm pricing tier, enabled on request: Mapbox refuses them otherwise).
	MaxRecipeZoom = 22
	// MaxRecipeBytes bounds a recipe file.
	MaxRecipeBytes = 1 << 20
)

// MTSRule is what a rule with target: mts adds: the recipe template, and
// the templates of the tileset source ID and of the layer name.
type MTSRule struct {
	// RecipeFile is the recipe template's path (absolute); RecipeName is
	// as the configuration wrote it, for messages.
	RecipeFile, RecipeName string
	// Incremental: the rule asks for changesets after the first publish
	// (syncer/mts_changeset.go); its recipe must say "incremental": true.
	Incremental bool

	source template // nil: the tileset's name
	layer  template // nil: the recipe names its layers
	// layers: the layer template has a placeholder the tileset's lacks, so
	// several files feed one tileset, each as a layer of its own (its own
	// tileset source); set by the parser.
	layers bool
	// recipe is the template in canonical JSON ({source} and {layer} still
	// in place), read by Validate; "" before.
	recipe string
}

// LayerSep joins a tileset ID and a layer name in the key under which a
// file that feeds one layer of a tileset fed by several files is queued
// and recorded ("acme.parcels#roads"): each layer is sent, skipped as
// unchanged and judged in a conflict on its own. A tileset ID never holds
// it.
const LayerSep = "#"

// MTSTileset is the tileset ID of a key (a tileset ID, or a tileset ID and
// a layer joined by LayerSep).
func MTSTileset(key string) string {
	ts, _, _ := strings.Cut(key, LayerSep)
	return ts
}

// MTSTarget is where an MTS rule sends one file.
type MTSTarget struct {
	// SourceID is the tileset source the file's converted features
	// replace: 1 to 32 of [a-z0-9_-] (made valid as tileset names are).
	SourceID string
	// Layer is the rendered layer name, "" when the recipe names its layers.
	Layer string
	// Recipe is the rule's recipe with {source} and {layer} filled in, in
	// canonical JSON (keys sorted, no spaces): the same template and file
	// give the same bytes.
	Recipe json.RawMessage
	// RecipeFile is the recipe template's path as the configuration wrote it.
	RecipeFile  string
	Incremental bool
}

// HasMTS reports whether any rule sends files to MTS.
func (c *Config) HasMTS() bool {
	for _, r := range c.Rules {
		if r.MTS != nil && !r.Skip {
			return true
		}
	}
	return false
}

// mts reads the MTS settings of the mapbox section and of every rule.
func (p *parser) mts(cfg *Config, raw *fileYAML, base string) {
	m := &cfg.Mapbox
	m.PublishesPerMinute = p.bounded("mapbox.publishes_per_minute", raw.Mapbox.PublishesPerMinute, DefaultPublishesPerMinute, 1, 1000)
	m.MTSMaxQueued = p.bounded("mapbox.mts_max_queued", raw.Mapbox.MTSMaxQueued, DefaultMTSMaxQueued, 1, 100)
	for i, rr := range raw.Rules {
		if i < len(cfg.Rules) {
			p.mtsRule(cfg, i, rr, cfg.Rules[i], base)
		}
	}
}

// bounded reads an optional integer within [lo, hi].
func (p *parser) bounded(at string, v *int, def, lo, hi int) int {
	if v == nil {
		return def
	}
	if *v < lo || *v > hi {
		p.errorf(at, "%d is out of range (%d to %d)", *v, lo, hi)
		return def
	}
	return *v
}

// mtsRule reads a rule's target and, for target: mts, its recipe, source
// and layer templates. The recipe file itself is read by Validate.
func (p *parser) mtsRule(cfg *Config, i int, raw ruleYAML, r *Rule, base string) {
	at := fmt.Sprintf("rules[%d]", i)
	switch strings.TrimSpace(raw.Target) {
	case "", TargetUploads:
		for _, k := range []struct {
			key string
			set bool
		}{{"recipe", raw.Recipe != ""}, {"source", raw.Source != ""}, {"layer", raw.Layer != ""}, {"incremental", raw.Incremental}} {
			if k.set {
				p.errorf(at+"."+k.key, "is only for a rule with target: mts")
			}
		}
		return
	case TargetMTS:
	default:
		p.errorf(at+".target", "%q is not a target (uploads or mts)", raw.Target)
		return
	}
	if r.Skip {
		return
	}
	if bad := nonVectorPattern(r); bad != "" {
		p.errorf(at+".target", "the pattern matches %s files, which MTS does not take (it takes GeoJSON, CSV, GPX, KML and shapefiles, converted to line-delimited GeoJSON): send them with target: uploads", bad)
	}
	m := &MTSRule{Incremental: raw.Incremental, RecipeName: strings.TrimSpace(raw.Recipe)}
	if m.RecipeName == "" {
		p.errorf(at+".recipe", "missing: an MTS rule needs a recipe (a JSON file with {source} where the tileset source goes)")
	} else {
		m.RecipeFile = absPath(base, m.RecipeName)
	}
	known := slices.Clone(placeholders)
	if r.re != nil {
		for _, g := range r.re.SubexpNames() {
			if g != "" {
				known = append(known, g)
			}
		}
	}
	var err error
	if raw.Source != "" {
		if m.source, err = parseTemplate(raw.Source, known); err != nil {
			p.errorf(at+".source", "%v", err)
		}
	}
	if raw.Layer != "" {
		if m.layer, err = parseTemplate(raw.Layer, known); err != nil {
			p.errorf(at+".layer", "%v", err)
		}
	}
	m.layers = m.layer.placeholders().hasAnyBut(r.tileset.placeholders())
	r.MTS = m
}

// nonVectorPattern names the raster or tileset format a rule's pattern
// sends by its extension (MBTiles, GeoTIFF), "" for none.
func nonVectorPattern(r *Rule) string {
	formats := map[string]string{".mbtiles": "MBTiles", ".tif": "GeoTIFF", ".tiff": "GeoTIFF"}
	if r.Match != "" {
		return formats[strings.ToLower(path.Ext(r.Match))]
	}
	re := strings.ToLower(r.Regex)
	for _, ext := range []string{`\.mbtiles`, `\.tiff?`, `\.tif`} {
		if strings.Contains(re, ext) {
			return formats[strings.ReplaceAll(strings.TrimSuffix(ext, "?"), `\`, "")]
		}
	}
	return ""
}

// loadRecipes reads and checks the recipe of every MTS rule (Validate).
func (c *Config) loadRecipes(p *parser) {
	for i, r := range c.Rules {
		if r.MTS == nil || r.MTS.RecipeFile == "" {
			continue
		}
		at := fmt.Sprintf("rules[%d].recipe", i)
		text, err := readRecipe(r.MTS.RecipeFile)
		if err == nil {
			err = checkRecipe(text, r.MTS)
		}
		if err != nil {
			p.errorf(at, "%s: %v", r.MTS.RecipeName, err)
			continue
		}
		r.MTS.recipe = text
	}
}

// readRecipe reads a recipe template and returns it in canonical JSON.
func readRecipe(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRecipeBytes+1))
	if err != nil {
		return "", err
	}
	if len(data) > MaxRecipeBytes {
		return "", fmt.Errorf("larger than %d bytes", MaxRecipeBytes)
	}
	out, err := canonicalJSON(data)
	if err != nil {
		return "", fmt.Errorf("not JSON: %v", err)
	}
	return string(out), nil
}

// canonicalJSON re-encodes one JSON value with its object keys sorted, no
// spaces, numbers as written and no HTML escaping; trailing data is an error.
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// RecipeFiles lists the recipe files of the MTS rules (a recipe edited
// changes what their files publish: the daemon reloads on it).
func (c *Config) RecipeFiles() []string {
	var out []string
	for _, r := range c.Rules {
		if r.MTS != nil && r.MTS.RecipeFile != "" && !slices.Contains(out, r.MTS.RecipeFile) {
			out = append(out, r.MTS.RecipeFile)
		}
	}
	return out
}

// HasUploads reports whether any rule sends files through the Uploads API.
func (c *Config) HasUploads() bool {
	for _, r := range c.Rules {
		if r.MTS == nil && !r.Skip {
			return true
		}
	}
	return false
}
