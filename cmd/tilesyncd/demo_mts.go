package main

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tilesyncd/tilesyncd/examples"
)

// copyRecipes writes the recipes of the example MTS rules into dir/recipes,
// where the demo's configuration names them.
func copyRecipes(dir string) error {
	return fs.WalkDir(examples.Recipes, "recipes", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := examples.Recipes.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
