package syncer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/state"
)

// Several files may feed one MTS tileset, each as a layer of its own (a
// rule whose layer template has a placeholder its tileset template lacks:
// every file of a folder as one layer). Each such file is queued and
// recorded under its own key, the tileset ID and the layer joined by
// config.LayerSep, so that each layer is sent, skipped as unchanged and
// judged in a conflict on its own: a change to one file replaces its
// layer's tileset source and publishes the tileset once. The tileset's
// recipe is every layer's: the recipe each key's content was (or is being)
// published with, merged, the job's own last.

// apiTileset is the tileset ID Mapbox knows j's tileset by.
func apiTileset(j state.Job) string { return config.MTSTileset(j.Tileset) }

// tilesetRecipe is the recipe j's tileset must have for j's publish: j's
// own, or for a layer of a tileset several files feed, every layer's.
func (m mts) tilesetRecipe(j state.Job) (json.RawMessage, error) {
	tileset := apiTileset(j)
	if tileset == j.Tileset {
		return j.Recipe, nil
	}
	prefix := tileset + config.LayerSep
	var parts []json.RawMessage
	seen := map[string]bool{j.Tileset: true}
	jobs, err := m.store.ListJobs(state.JobFilter{})
	if err != nil {
		return nil, err
	}
	for _, o := range jobs { // layers on their way: their recipes are about to be published
		if strings.HasPrefix(o.Tileset, prefix) && !seen[o.Tileset] && o.Stage != state.StageFailed && len(o.Recipe) > 0 {
			seen[o.Tileset] = true
			parts = append(parts, o.Recipe)
		}
	}
	err = m.store.Tilesets(func(rec state.TilesetRecord) error {
		if strings.HasPrefix(rec.Tileset, prefix) && !seen[rec.Tileset] && len(rec.RecipeJSON) > 0 {
			parts = append(parts, rec.RecipeJSON)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mergeRecipes(append(parts, j.Recipe))
}

// mergeRecipes merges recipes: the last one's top-level members, and the
// layers of all (a later one's layer replacing an earlier one of the same
// name). Maps marshal with sorted keys: the result does not depend on the
// order the other layers came in.
func mergeRecipes(recipes []json.RawMessage) (json.RawMessage, error) {
	layers := map[string]json.RawMessage{}
	var top map[string]json.RawMessage
	for _, r := range recipes {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(r, &one); err != nil {
			return nil, fmt.Errorf("a layer's recipe: %w", err)
		}
		var ls map[string]json.RawMessage
		if err := json.Unmarshal(one["layers"], &ls); err != nil {
			return nil, fmt.Errorf("a layer's recipe has no layers: %w", err)
		}
		for name, l := range ls {
			layers[name] = l
		}
		top = one
	}
	merged, err := json.Marshal(layers)
	if err != nil {
		return nil, err
	}
	top["layers"] = merged
	return json.Marshal(top)
}

// ensured reports whether j's tileset was last made to have recipe (by
// this process, or by the publish of the content its record names).
func (m mts) ensured(j state.Job, recipe json.RawMessage) bool {
	tileset := apiTileset(j)
	if tileset == j.Tileset {
		rec, ok, err := m.store.Tileset(j.Tileset)
		return err == nil && ok && rec.Recipe == state.RecipeHash(recipe)
	}
	m.pub.recipesMu.Lock()
	defer m.pub.recipesMu.Unlock()
	return m.pub.recipes[tileset] == state.RecipeHash(recipe)
}

// setEnsured notes that j's tileset has recipe now.
func (m mts) setEnsured(j state.Job, recipe json.RawMessage) {
	m.pub.recipesMu.Lock()
	defer m.pub.recipesMu.Unlock()
	m.pub.recipes[apiTileset(j)] = state.RecipeHash(recipe)
}
