package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/ratelimit"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// defaultUploadsLimit is how many uploads `uploads list` shows without --limit.
const defaultUploadsLimit = 20

func init() {
	register(&command{
		name:    "uploads",
		summary: "list the account's upload statuses at Mapbox, or delete them (never the tilesets)",
		usage:   "list [--json] [--limit N] | delete (ID... | --completed --older-than AGE [--dry-run]) [--config FILE]",
		help: `Mapbox keeps a status for every upload of the account (whoever made it):
its ID, tileset, creation time, and whether it is processing, complete, or
failed with Mapbox's message. The list grows for ever unless statuses are
deleted. Deleting a status never touches its tileset.

  uploads list                  the newest uploads first, --limit of them
                                (default 20; 0 lists them all, 100 a request);
                                --json prints Mapbox's upload objects, one a line
  uploads delete ID...          deletes these statuses; each is asked for first
  uploads delete --completed --older-than AGE
                                deletes every status of an upload that completed
                                without error and was created longer than AGE ago
                                (7d, 36h, 1d12h; on Mapbox's clock); --dry-run
                                says what it would delete and deletes nothing

Never deleted: an upload still processing (Mapbox refuses it too), and an
upload tilesyncd still waits for (its outcome, or an upload whose create
answer was lost), as the running daemon or else the state file tells; a
failed upload's status is deleted only when named by its ID. Each status is
printed as deleted, kept (with why) or failed (with the error).

mapbox.cleanup_completed_after makes the daemon do the --completed cleanup
itself, every hour, at the lowest priority of its API budget.

The requests are spaced at mapbox.requests_per_minute, and one refused by the
rate limit or an outage is sent again (up to 5 times); they are not counted in
a running daemon's budget. Ctrl-C stops between requests.
Exit 0 when everything asked for was done, 1 when a status named by its ID
was not deleted or a request failed, 2 on a configuration or usage error.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			o := uploadsOptions{config: configFlag(fs)}
			fs.BoolVar(&o.json, "json", false, "list: print Mapbox's upload objects as JSON, one a line")
			fs.IntVar(&o.limit, "limit", defaultUploadsLimit, "list: how many uploads to show, newest first; 0: all")
			fs.BoolVar(&o.completed, "completed", false, "delete: every upload that completed without error, older than --older-than")
			fs.StringVar(&o.olderThan, "older-than", "", "delete --completed: the age (7d, 36h, 1d12h) an upload must be past")
			fs.BoolVar(&o.dryRun, "dry-run", false, "delete --completed: say what would be deleted, delete nothing")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) == 0 {
					return usageError{"name the action: list or delete"}
				}
				if err := o.parse(fs, args[1:]); err != nil {
					return err
				}
				return o.run(args[0], stdout, stderr)
			}
		},
	})
}

// uploadsOptions are the command line of `uploads`.
type uploadsOptions struct {
	config                  *string
	json, completed, dryRun bool
	limit                   int
	olderThan               string
	age                     time.Duration // olderThan, read
	args                    []string
	set                     []string // the options given
}

// parse reads the options and arguments after the action: options may come
// before, between and after the upload IDs (which never start with -).
func (o *uploadsOptions) parse(fs *flag.FlagSet, args []string) error {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		args = fs.Args()
		i := 0
		for i < len(args) && !strings.HasPrefix(args[i], "-") {
			i++
		}
		if i == 0 && len(args) > 0 {
			i = 1 // "-", or an argument after "--": Parse left it as one
		}
		o.args = append(o.args, args[:i]...)
		if args = args[i:]; len(args) == 0 {
			break
		}
	}
	fs.Visit(func(f *flag.Flag) { o.set = append(o.set, f.Name) })
	return nil
}

// only checks that no option outside allowed was given to action.
func (o uploadsOptions) only(action string, allowed ...string) error {
	for _, name := range o.set {
		if !slices.Contains(allowed, name) && name != "config" && name != "c" {
			return usageError{fmt.Sprintf("uploads %s does not take --%s", action, name)}
		}
	}
	return nil
}

func (o *uploadsOptions) run(action string, stdout, stderr io.Writer) error {
	switch action {
	case "list":
		if err := o.only(action, "json", "limit"); err != nil {
			return err
		}
		if len(o.args) > 0 {
			return usageError{"uploads list takes no arguments"}
		}
		if o.limit < 0 {
			return usageError{"--limit must be 0 (all) or more"}
		}
	case "delete":
		if err := o.only(action, "completed", "older-than", "dry-run"); err != nil {
			return err
		}
		switch {
		case o.completed == (len(o.args) > 0):
			return usageError{"name the upload IDs to delete, or give --completed --older-than AGE"}
		case o.completed && o.olderThan == "":
			return usageError{"--completed needs --older-than AGE (7d, 36h; 0 for every completed upload)"}
		case !o.completed && (o.olderThan != "" || o.dryRun):
			return usageError{"--older-than and --dry-run go with --completed"}
		}
		if o.completed {
			age, err := config.ParseAge(o.olderThan)
			if err != nil {
				return usageError{"--older-than: " + err.Error()}
			}
			o.age = age
		}
	default:
		return usageError{fmt.Sprintf("unknown action %q: list or delete", action)}
	}
	cfg, err := loadConfig(*o.config, config.LoadOptions{RequireToken: true}, stderr)
	if err != nil {
		return err
	}
	api, err := newUploadsAPI(cfg)
	if err != nil {
		return configError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if action == "list" {
		return listUploads(ctx, api, o.limit, o.json, stdout)
	}
	return o.delete(ctx, cfg, api, stdout)
}

// listUploads prints up to limit uploads (0: all), newest first.
func listUploads(ctx context.Context, api daemon.UploadsAPI, limit int, asJSON bool, w io.Writer) error {
	var ups []mapbox.Upload
	for lo := (mapbox.ListOptions{}); ; {
		lo.Limit = mapbox.MaxListLimit
		if limit > 0 {
			lo.Limit = min(limit-len(ups), mapbox.MaxListLimit)
		}
		page, next, err := api.ListPage(ctx, lo)
		if err != nil {
			return err
		}
		ups = append(ups, page...)
		if next == "" || (limit > 0 && len(ups) >= limit) {
			break
		}
		lo.Start = next
	}
	if limit > 0 && len(ups) > limit {
		ups = ups[:limit]
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, u := range ups {
			if err := enc.Encode(u); err != nil {
				return err
			}
		}
		return nil
	}
	printUploadList(w, ups)
	return nil
}

// delete removes the statuses the command line names, and says what it did.
func (o uploadsOptions) delete(ctx context.Context, cfg *config.Config, api daemon.UploadsAPI, w io.Writer) error {
	st, err := readStatus(cfg, 0)
	if err != nil {
		return fmt.Errorf("cannot tell which uploads tilesyncd still waits for, so nothing was deleted: %w", err)
	}
	inUse := daemon.InUse(st.State.Active)
	var removed []daemon.Removal
	if o.completed {
		removed, err = daemon.CleanCompleted(ctx, api, daemon.CleanupOptions{OlderThan: o.age, InUse: inUse, DryRun: o.dryRun})
		printRemovals(w, removed, o.dryRun)
		if err != nil {
			return err
		}
		if len(removed) == 0 {
			terminal.Fprintf(w, "No upload was created more than %s ago.\n", o.olderThan)
		}
		return removalsExit(removed, false)
	}
	removed, err = daemon.DeleteUploads(ctx, api, o.args, inUse)
	printRemovals(w, removed, false)
	if err != nil {
		return err
	}
	return removalsExit(removed, true)
}

// removalsExit is exit 1 when a request failed, or, with all, when any
// status was not deleted.
func removalsExit(removed []daemon.Removal, all bool) error {
	for _, r := range removed {
		if r.Err != nil || (all && !r.Deleted) {
			return exitError{code: 1}
		}
	}
	return nil
}

// newUploadsAPI is the client `uploads` uses: its requests spaced by a
// budget of its own, each sent again (up to 5 times) when the rate limit or
// an outage refused it, as the budget then holds it until it may go.
func newUploadsAPI(cfg *config.Config) (patientAPI, error) {
	budget := ratelimit.NewBudget(cfg.Mapbox.RequestsPerMinute, ratelimit.Options{})
	c, err := mapbox.New(mapbox.Options{BaseURL: cfg.Mapbox.APIURL, Username: cfg.Mapbox.Username,
		Token: cfg.Mapbox.Token.Reveal(), Gate: budget.Wait, Observe: budget.Observe})
	return patientAPI{c}, err
}

// patientAPI is a mapbox.Client whose requests are sent again when
// refused by the rate limit or an outage.
type patientAPI struct{ c *mapbox.Client }

// patientTries is how many times a request is sent at most.
const patientTries = 5

func again(ctx context.Context, f func() error) error {
	for i := 1; ; i++ {
		err := f()
		if err == nil || i == patientTries || ctx.Err() != nil ||
			!(errors.Is(err, mapbox.ErrRateLimited) || errors.Is(err, mapbox.ErrTransient)) {
			return err
		}
	}
}

func (p patientAPI) ListPage(ctx context.Context, o mapbox.ListOptions) (ups []mapbox.Upload, next string, err error) {
	err = again(ctx, func() error { ups, next, err = p.c.ListPage(ctx, o); return err })
	return ups, next, err
}

func (p patientAPI) Upload(ctx context.Context, id string) (u mapbox.Upload, err error) {
	err = again(ctx, func() error { u, err = p.c.Upload(ctx, id); return err })
	return u, err
}

func (p patientAPI) Delete(ctx context.Context, id string) error {
	return again(ctx, func() error { return p.c.Delete(ctx, id) })
}

func (p patientAPI) ClockOffset() (time.Duration, bool) { return p.c.ClockOffset() }
