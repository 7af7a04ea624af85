package daemon

import (
	"context"
	"fmt"
	"os"
	"strings"
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
	ch := make(chan struct{}, 1)
	if len(files) == 0 {
		return ch
	}
	stamp := func() string {
		var b strings.Builder
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				fmt.Fprintf(&b, "%d %d;", fi.Size(), fi.ModTime().UnixNano())
			} else {
				b.WriteString("missing;")
			}
		}
		return b.String()
	}
	last := stamp()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if now := stamp(); now != last {
					last = now
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return ch
}
