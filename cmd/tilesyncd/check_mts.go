package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

// tilesets probes the tilesets:* scopes an MTS rule needs, with requests
// that create, publish and bill nothing: tilesets:list lists the account's
// tilesets (limit=1), tilesets:read asks the size of MTS's global queue,
// and tilesets:write asks MTS to validate the recipe of the first MTS rule
// (its sources not checked), which also tells whether MTS takes it.
func (c *checker) tilesets(ctx context.Context, cfg *config.Config) error {
	list := scopeResult{scope: "tilesets:list", verdict: "ok", how: "GET the account's tilesets, limit=1, answered 200"}
	if _, _, err := c.client.ListTilesets(ctx, mapbox.MTSListOptions{Limit: 1}); err != nil {
		if err := c.stopped(err); err != nil {
			return err
		}
		list.verdict, list.how = scopeVerdict(err), "GET the account's tilesets answered "+answered(err)
	}
	c.results = append(c.results, list)

	read := scopeResult{scope: "tilesets:read", verdict: "ok", how: "PUT queue (MTS's global queue size) answered 200"}
	if _, err := c.client.Queue(ctx); err != nil {
		if err := c.stopped(err); err != nil {
			return err
		}
		read.verdict, read.how = scopeVerdict(err), "PUT queue answered "+answered(err)
	}
	c.results = append(c.results, read)

	var rule *config.Rule
	for _, r := range cfg.Rules {
		if r.MTS != nil && !r.Skip {
			rule = r
			break
		}
	}
	write := scopeResult{scope: "tilesets:write", verdict: "ok"}
	v, err := c.client.ValidateRecipe(ctx, rule.MTS.Recipe(cfg.Mapbox.Username, "tilesyncd-check", "layer"), true)
	switch {
	case err != nil:
		if err := c.stopped(err); err != nil {
			return err
		}
		write.verdict, write.how = scopeVerdict(err), "PUT validateRecipe answered "+answered(err)
	case v.Valid:
		write.how = fmt.Sprintf("PUT validateRecipe answered 200: MTS takes the recipe of %s (nothing created or billed)", rule.Label())
	default:
		write.how = fmt.Sprintf("PUT validateRecipe answered: MTS refuses the recipe of %s: %s", rule.Label(), strings.Join(v.Errors, "; "))
		c.recipeRefused = write.how
	}
	c.results = append(c.results, write)
	return nil
}

// scopeVerdict is the verdict on a scope whose probe failed with err (an
// error checkFailure let through): MISSING for a missing scope, else unknown.
func scopeVerdict(err error) string {
	if errors.Is(err, mapbox.ErrMissingScope) {
		return "MISSING"
	}
	return "unknown"
}

// neededScopes names the scopes the configuration's rules need.
func neededScopes(cfg *config.Config) string {
	var s []string
	if cfg.HasUploads() || !cfg.HasMTS() {
		s = append(s, "uploads:read", "uploads:write", "uploads:list")
	}
	if cfg.HasMTS() {
		s = append(s, "tilesets:read", "tilesets:write", "tilesets:list (a secret sk. token)")
	}
	return strings.Join(s, ", ")
}
