package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/convert"
	"github.com/tilesyncd/tilesyncd/convert/changeset"
	"github.com/tilesyncd/tilesyncd/state"
)

// plan shows the change of an incremental rule's file, whose tileset holds
// an earlier version tilesyncd published, as "publish changeset" with the
// features it would carry.
func TestPlanChangeset(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) { writeUnder(t, dir, rel, text) }
	cfgPath := filepath.Join(dir, "tilesyncd.yaml")
	write("tilesyncd.yaml", "mapbox:\n  username: acme\nstate:\n  path: state/state.db\nwatch:\n  - path: drop\nrules:\n"+
		"  - match: \"*\"\n    target: mts\n    tileset: \"{username}.{stem}\"\n    recipe: r.json\n    incremental: true\n")
	write("r.json", `{"version": 1, "incremental": true, "layers": {"trees": {"source": "{source}", "minzoom": 0, "maxzoom": 8}}}`)
	feature := func(id int, name string) string {
		return `{"type":"Feature","id":` + strconv.Itoa(id) + `,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"name":"` + name + `"}}`
	}
	collection := func(names ...string) string {
		var fs []string
		for i, n := range names {
			fs = append(fs, feature(i, n))
		}
		return `{"type":"FeatureCollection","features":[` + strings.Join(fs, ",") + `]}`
	}
	names := []string{"oak", "elm", "ash", "yew", "fir", "box", "bay", "fig", "lime"}
	write("drop/trees.geojson", collection(names...))
	publishedAsIs(t, cfgPath, filepath.Join(dir, "drop", "trees.geojson"))

	names[2] = "beech"
	write("drop/trees.geojson", collection(names...))
	code, out, errOut := runCLI(t, "plan", "--config", cfgPath, "--json")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &d); err != nil {
		t.Fatal(err)
	}
	conv, _ := d["conversion"].(map[string]any)
	if d["action"] != "publish changeset" || conv["changed"] != 1.0 || conv["removed"] != nil {
		t.Errorf("plan: %v, want publish changeset of 1 changed feature", d)
	}
	if _, out, _ := runCLI(t, "plan", "--config", cfgPath); !strings.Contains(out, "publish changeset trees.geojson (1 changed, 0 removed) → acme.trees") {
		t.Errorf("plan:\n%s", out)
	}
}

// publishedAsIs records, as the sender would after a full publish, that
// the file's tileset holds its content now, with the index of its features.
func publishedAsIs(t *testing.T, cfgPath, file string) {
	t.Helper()
	cfg, err := config.Load(cfgPath, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := cfg.Target(cfg.Watch[0], filepath.Base(file))
	converted := filepath.Join(t.TempDir(), "c.geojsonl")
	f, err := os.Create(converted)
	if err != nil {
		t.Fatal(err)
	}
	st, err := convert.Convert(context.Background(), convert.Input{Path: file}, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	sha := state.MTSContentHash(st.SHA256, tg.MTS.Recipe)
	if err := os.MkdirAll(state.MTSIndexDir(cfg.State.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := changeset.Build(context.Background(), converted, state.MTSIndexPath(cfg.State.Path, tg.Tileset, sha)); err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(cfg.State.Path, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	r, err := store.Enqueue(state.NewJob{Tileset: tg.Tileset, Source: state.FileKey{Watch: cfg.Watch[0].Path, Path: filepath.Base(file)},
		SHA256: sha, Target: state.TargetMTS, SourceID: tg.MTS.SourceID, Recipe: tg.MTS.Recipe, Incremental: true})
	must := func(_ state.Job, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Job, err)
	must(store.StartStaging(r.Job.ID))
	must(store.MarkStaged(r.Job.ID, sha))
	must(store.Created(r.Job.ID, "job1", time.Now()))
	must(store.Done(r.Job.ID))
}
