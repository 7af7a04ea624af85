package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

func init() {
	register(&command{
		name:    "check",
		summary: "check the configuration, then the token and its scopes with Mapbox (2 or 3 requests; 3 more with MTS rules)",
		usage:   "[--config FILE]",
		help: `Checks the configuration as check-config does, then asks Mapbox about the
token with as few requests as possible, and names any scope it lacks:

  uploads:list   GET the account's uploads, limit=1
  uploads:read   GET the status of the upload that list returned; with no
                 upload to read (a new account, or no uploads:list), a made-up
                 id is asked instead, and Mapbox's 404 for it cannot be told
                 from a 404 for a missing scope: the scope is then reported
                 "not verified", which does not fail the check
  uploads:write  POST for temporary staging credentials: Mapbox mints them for
                 a staging key that stays empty; nothing is created or billed

When a rule sends files to the Mapbox Tiling Service (target: mts), three
more requests check the tilesets scopes (and when every rule does, the
uploads scopes are not asked about):

  tilesets:list  GET the account's tilesets, limit=1
  tilesets:read  PUT queue: the size of MTS's global queue
  tilesets:write PUT validateRecipe with the first MTS rule's recipe (its
                 sources not checked): nothing is created or billed, and a
                 recipe MTS refuses fails the check with MTS's reasons

With a fleet section, check also joins the fleet's Redis for a moment (as a
node of its own, check.NODE, which leaves at once) and reports Redis'
version, the nodes alive and the shared limit in force; Redis out of reach
fails the check.

A 401 on the first request means the token is invalid, revoked, or not of the
configured account; nothing else is asked then. The requests are not counted
in a running daemon's rate budget: check runs safely beside the daemon (it does
not open the state database), but not in a loop.
Exit 0 when the token has every scope tilesyncd needs, 1 when it lacks one, is
refused, or Mapbox cannot be reached, 2 on a configuration or usage error.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			path := configFlag(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				cfg, err := loadConfig(*path, config.LoadOptions{RequireToken: true}, stderr)
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				return checkFleet(ctx, cfg, stdout, checkToken(ctx, cfg, *path, stdout)) // check_fleet.go
			}
		},
	})
}

// scopeResult is what check learned about one scope.
type scopeResult struct {
	scope   string
	verdict string // "ok", "MISSING", "not verified", "unknown"
	how     string
}

// checker probes the token's scopes one request at a time, and reports.
type checker struct {
	w       io.Writer
	client  *mapbox.Client
	sent    atomic.Int64
	results []scopeResult
	// recipeRefused says why MTS refuses an MTS rule's recipe (check_mts.go).
	recipeRefused string
}

// report prints the results so far and the count of requests sent.
func (c *checker) report() {
	if len(c.results) > 0 {
		fmt.Fprintln(c.w)
	}
	for _, r := range c.results {
		fmt.Fprintf(c.w, "  %-14s %-13s %s\n", r.scope, r.verdict, r.how)
	}
	if len(c.results) > 0 {
		fmt.Fprintln(c.w)
	}
	fmt.Fprintf(c.w, "%d request(s) sent.", c.sent.Load())
}

// stopped reports what is known (with partial, the scope being probed)
// when an answer makes further requests pointless, and returns nil when err
// is not such an answer.
func (c *checker) stopped(err error, partial ...scopeResult) error {
	stop := checkFailure(err)
	if stop == "" {
		return nil
	}
	c.results = append(c.results, partial...)
	c.report()
	fmt.Fprintln(c.w, " Stopped:", stop)
	return exitError{code: 1, msg: stop}
}

func checkToken(ctx context.Context, cfg *config.Config, path string, w io.Writer) error {
	fmt.Fprintf(w, "Configuration: %s: OK — account %s, %d watch folder(s), %d rule(s), state in %s\n",
		path, cfg.Mapbox.Username, len(cfg.Watch), len(cfg.Rules), cfg.State.Path)
	if cfg.Mapbox.TokenFile != "" {
		fmt.Fprintf(w, "Token:         from the file %s\n", cfg.Mapbox.TokenFile)
	} else {
		fmt.Fprintf(w, "Token:         from the %s environment variable\n", cfg.Mapbox.TokenEnv)
	}
	fmt.Fprintf(w, "API:           %s\n", cfg.Mapbox.APIURL)
	c := &checker{w: w}
	client, err := mapbox.New(mapbox.Options{BaseURL: cfg.Mapbox.APIURL, Username: cfg.Mapbox.Username,
		Token: cfg.Mapbox.Token.Reveal(), Observe: func(mapbox.Exchange) { c.sent.Add(1) }})
	if err != nil {
		return configError{err}
	}
	c.client = client
	var probes []func(context.Context) error
	if cfg.HasUploads() || !cfg.HasMTS() {
		probes = append(probes, c.uploadsListRead, c.uploadsWrite)
	}
	if cfg.HasMTS() {
		probes = append(probes, func(ctx context.Context) error { return c.tilesets(ctx, cfg) })
	}
	for _, probe := range probes {
		if err := probe(ctx); err != nil {
			return err
		}
	}
	c.report()
	var missing []string
	for _, r := range c.results {
		if r.verdict == "MISSING" || r.verdict == "unknown" {
			missing = append(missing, r.scope)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "\nThe token lacks %s. Make a token with the scopes %s\n"+
			"(account.mapbox.com → Access tokens) and put it where tilesyncd reads it.\n", strings.Join(missing, " and "), neededScopes(cfg))
		return exitError{code: 1, msg: "the token lacks " + strings.Join(missing, ", ")}
	}
	if c.recipeRefused != "" {
		fmt.Fprintln(w, "\n"+c.recipeRefused)
		return exitError{code: 1, msg: "MTS refuses a rule's recipe"}
	}
	fmt.Fprintln(w, " The token can do everything tilesyncd needs.")
	return nil
}

// uploadsListRead probes uploads:list, and uploads:read on an upload the
// list returned (a real upload's status proves it; a made-up id cannot).
func (c *checker) uploadsListRead(ctx context.Context) error {
	uploads, err := c.client.List(ctx, mapbox.ListOptions{Limit: 1})
	list := scopeResult{scope: "uploads:list", verdict: "ok", how: "GET list?limit=1 answered 200"}
	if err != nil {
		if err := c.stopped(err); err != nil {
			return err
		}
		list.verdict, list.how = "MISSING", "GET list answered "+answered(err)
	}
	c.results = append(c.results, list)

	read := scopeResult{scope: "uploads:read"}
	if len(uploads) > 0 {
		_, err := c.client.Upload(ctx, uploads[0].ID)
		switch {
		case err == nil:
			read.verdict, read.how = "ok", fmt.Sprintf("GET the status of upload %s answered 200", uploads[0].ID)
		case errors.Is(err, mapbox.ErrNotFound):
			read.verdict, read.how = "MISSING", fmt.Sprintf("GET the status of upload %s, which list returned, answered %s", uploads[0].ID, answered(err))
		default:
			if err := c.stopped(err, read); err != nil {
				return err
			}
			read.verdict, read.how = "unknown", "GET status answered "+answered(err)
		}
	} else {
		var nonce [6]byte
		rand.Read(nonce[:])
		id := "tilesyncd-check-" + hex.EncodeToString(nonce[:])
		_, err := c.client.Upload(ctx, id)
		switch {
		case errors.Is(err, mapbox.ErrNotFound):
			read.verdict, read.how = "not verified", "no upload to read: GET the status of a made-up id answered 404, as it does with or without the scope"
		case err == nil:
			read.verdict, read.how = "ok", "GET status answered 200"
		default:
			if err := c.stopped(err, read); err != nil {
				return err
			}
			read.verdict, read.how = "unknown", "GET status answered "+answered(err)
		}
	}
	c.results = append(c.results, read)
	return nil
}

// uploadsWrite probes uploads:write: staging credentials cost one request
// and nothing else.
func (c *checker) uploadsWrite(ctx context.Context) error {
	write := scopeResult{scope: "uploads:write", verdict: "ok", how: "POST credentials answered 200 (temporary staging credentials; nothing created or billed)"}
	if _, err := c.client.Credentials(ctx); err != nil {
		if err := c.stopped(err); err != nil {
			return err
		}
		write.verdict, write.how = "MISSING", "POST credentials answered "+answered(err)
	}
	c.results = append(c.results, write)
	return nil
}

// checkFailure returns why the check cannot go on after err, or "" when err
// only says that a scope is missing.
func checkFailure(err error) string {
	switch {
	case errors.Is(err, mapbox.ErrMissingScope), errors.Is(err, mapbox.ErrNotFound):
		return ""
	case errors.Is(err, mapbox.ErrUnauthorized):
		return "Mapbox refuses the token (" + answered(err) + "): it is invalid, revoked, or not a token of the configured account"
	case errors.Is(err, mapbox.ErrRateLimited):
		return "Mapbox rate-limits the account now (" + answered(err) + "): try again in a minute"
	}
	return "could not check the token: " + err.Error()
}

// answered describes the answer of a failed request: "404 (Not Found)".
func answered(err error) string {
	var ae *mapbox.APIError
	if !errors.As(err, &ae) || ae.Status == 0 {
		return "nothing: " + err.Error()
	}
	if ae.Message != "" {
		return fmt.Sprintf("%d: %s", ae.Status, ae.Message)
	}
	return fmt.Sprintf("%d", ae.Status)
}
