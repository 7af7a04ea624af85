package daemon

import (
	"context"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
)

// watchRecipes signals when a recipe file of cfg's MTS rules changes (its
// size or modification time, or it appears or goes), checking every
// interval until ctx ends: Supervise then reloads the configuration, which
// reads the recipes again, and the files of their rules are published
// again with the new recipe. Nil recipes: a channel that never fires.
func watchRecipes(ctx context.Context, cfg *config.Config, interval time.Duration) <-chan struct{} {
	files := cfg.RecipeFiles()
	if len(files) == 0 {
		return make(chan struct{})
	}
	return watchFiles(ctx, files, interval)
}
