package daemon

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// layersRule sends every file of layers/ to one tileset, each as a layer.
const layersRule = `  - match: "layers/*"
    target: mts
    tileset: "{username}.layers"
    recipe: recipe.json
    layer: "{stem}"
`

// TestMTSLayersOfOneTileset: several files feed one tileset, each as a
// layer with a tileset source of its own. The tileset's recipe has every
// file's layer; a change to one file replaces its layer's source and
// publishes the tileset once; an unchanged file publishes nothing; a new
// file adds its layer.
func TestMTSLayersOfOneTileset(t *testing.T) {
	e := newMTSEnv(t, mtsOptions{rules: layersRule})
	e.Write("layers/parks.geojson", parks)
	e.Write("layers/trees.csv", trees)
	d, _ := e.start()
	published := func(n int) func() bool {
		return func() bool {
			j, ok := e.Srv.HoldsMTS("acme.layers")
			return ok && e.Srv.PublishCounts()["acme.layers"] >= n && j.Stage == "success"
		}
	}
	testkit.WaitFor(t, "the tileset published with both layers", 30*time.Second, func() bool {
		return published(1)() && slices.Equal(e.layersRead(), []string{"parks", "trees"})
	})
	waitIdle(t, d, 10*time.Second)
	before := e.Srv.PublishCounts()["acme.layers"]
	if before > 2 {
		t.Errorf("%d publishes for two new files, want at most 2", before)
	}
	e.checkLayerSources(map[string]string{"parks": "layers/parks.geojson", "trees": "layers/trees.csv"})

	// One file changed: its source replaced, one publish, both layers.
	e.Write("layers/trees.csv", trees+"52.52,13.42,maple\n")
	testkit.WaitFor(t, "the change published", 30*time.Second, published(before+1))
	waitIdle(t, d, 10*time.Second)
	if n := e.Srv.PublishCounts()["acme.layers"]; n != before+1 {
		t.Errorf("%d publishes after one file changed, want %d", n, before+1)
	}
	e.checkLayerSources(map[string]string{"parks": "layers/parks.geojson", "trees": "layers/trees.csv"})

	// A third file: its layer joins the recipe.
	e.Write("layers/lakes.geojson", strings.Replace(parks, "Tiergarten", "Wannsee", 1))
	testkit.WaitFor(t, "the third layer published", 30*time.Second, func() bool {
		return published(before+2)() && slices.Equal(e.layersRead(), []string{"lakes", "parks", "trees"})
	})
	waitIdle(t, d, 10*time.Second)
	e.checkLayerSources(map[string]string{"lakes": "layers/lakes.geojson", "parks": "layers/parks.geojson", "trees": "layers/trees.csv"})
	if n := e.Srv.PublishCounts()["acme.layers"]; n != before+2 {
		t.Errorf("%d publishes, want %d: one per change", n, before+2)
	}
}

// layersRead lists the layers the tileset's last successful job read.
func (e *env) layersRead() []string {
	j, ok := e.Srv.HoldsMTS("acme.layers")
	if !ok {
		return nil
	}
	var names []string
	for _, in := range j.Inputs {
		names = append(names, in.Layer)
	}
	slices.Sort(names)
	return names
}

// checkLayerSources checks that the tileset's last successful job read,
// for each layer, the converted bytes of its file, and that its recipe
// names every layer.
func (e *env) checkLayerSources(files map[string]string) {
	e.t.Helper()
	j, _ := e.Srv.HoldsMTS("acme.layers")
	read := map[string]mapboxsim.JobInput{}
	for _, in := range j.Inputs {
		read[in.Layer] = in
	}
	for layer, rel := range files {
		if in, ok := read[layer]; !ok || in.SHA256 != e.converted(rel) {
			e.t.Errorf("layer %s: the last job read %+v, want the converted bytes of %s", layer, in, rel)
		}
	}
	var recipe struct {
		Layers map[string]json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(j.Recipe, &recipe); err != nil || len(recipe.Layers) != len(files) {
		e.t.Errorf("the tileset's recipe %s: want the %d layers", j.Recipe, len(files))
	}
}
