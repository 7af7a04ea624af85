package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// check verifies the tilesets scopes when a rule targets MTS, with
// requests that create nothing, and fails on a recipe MTS refuses.
func TestCheckMTS(t *testing.T) {
	e := newStatusEnv(t)
	e.srv.AddToken("sk.no-tilesets-write", mapboxsim.ScopeRead, mapboxsim.ScopeWrite, mapboxsim.ScopeList,
		mapboxsim.ScopeTilesetsRead, mapboxsim.ScopeTilesetsList)
	mtsConfig := func(name, token string, maxzoom string) string {
		t.Helper()
		path := e.config(name, token)
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rule := "rules:\n  - match: \"mts/*\"\n    target: mts\n    recipe: " + name + ".json\n"
		out := strings.Replace(string(text), "rules:\n", rule, 1)
		recipe := `{"version": 1, "layers": {"a": {"source": "{source}", "minzoom": 0, "maxzoom": ` + maxzoom + `}}}`
		if err := os.WriteFile(filepath.Join(e.dir, name+".json"), []byte(recipe), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	count := func() int {
		n := 0
		for _, c := range e.srv.Counts() {
			n += c
		}
		return n
	}
	before := count()
	code, out, errOut := runCLI(t, "check", "--config", mtsConfig("mts", statusToken, "12"))
	noToken(t, out, errOut)
	if code != 0 || !regexpMatch(out, `tilesets:list +ok`, `tilesets:read +ok`, `tilesets:write +ok +PUT validateRecipe answered 200`) || count()-before != 6 {
		t.Errorf("check with every scope: exit %d, %d requests\n%s%s", code, count()-before, out, errOut)
	}
	if n := len(e.srv.MTSJobs()); n != 0 {
		t.Errorf("check made %d MTS jobs", n)
	}
	code, out, errOut = runCLI(t, "check", "--config", mtsConfig("nowrite", "sk.no-tilesets-write", "12"))
	if code != 1 || !regexpMatch(out, `tilesets:write +MISSING`, `tilesets:list +ok`) || !strings.Contains(errOut, "lacks tilesets:write") {
		t.Errorf("check without tilesets:write: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "check", "--config", mtsConfig("zoom", statusToken, "18"))
	t.Logf("check output:\n%s%s", out, errOut)
	if code != 1 || !strings.Contains(out, "MTS refuses the recipe of rules[0]") || !strings.Contains(errOut, "recipe") {
		t.Errorf("check with a recipe MTS refuses: exit %d\n%s%s", code, out, errOut)
	}
}
