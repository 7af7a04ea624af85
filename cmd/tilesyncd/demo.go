package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/examples"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "see tilesyncd sync the bundled examples to a built-in simulator (no account, no network)",
		usage:   "[--dir DIR] [--keep]",
		help: `Starts a local simulator of Mapbox's Uploads API (and of its S3 staging
bucket) on 127.0.0.1, copies the bundled example files — GeoJSON, GPX, KML,
CSV, a zipped shapefile, MBTiles, GeoTIFF — into a drop folder, and runs the
daemon on them, as it would run against Mapbox. You see each file settle, get
staged, created and processed; then one file is changed and sent again, and
one is touched without changing and is skipped.

Nothing leaves this machine and no Mapbox account is needed. The drop folder,
configuration and state live in a temporary folder, removed at the end unless
--keep (or --dir) is given.`,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			dir := fs.String("dir", "", "work in this folder (kept) instead of a temporary one")
			keep := fs.Bool("keep", false, "keep the temporary folder")
			timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
			lf := logFlags(fs, "text")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				log, err := lf.logger(stderr)
				if err != nil {
					return usageError{err.Error()}
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				return runDemo(ctx, *dir, *keep, log, stdout)
			}
		},
	})
}

// demoToken is the simulator's token: not a Mapbox token.
const demoToken = "sk.demo-simulator-token"

// runDemo runs the demo in dir. It is long because it is the demo's script,
// read top to bottom.
func runDemo(ctx context.Context, dir string, keep bool, log *slog.Logger, out io.Writer) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tilesyncd-demo-")
		if err != nil {
			return err
		}
		dir = tmp
		if !keep {
			defer os.RemoveAll(tmp)
		}
	}
	say := func(format string, args ...any) { fmt.Fprintf(out, "\n==> "+format+"\n", args...) }

	store, err := mapboxsim.NewMemStorage(mapboxsim.MemOptions{Dir: filepath.Join(dir, "simulator-s3")})
	if err != nil {
		return err
	}
	defer store.Close()
	srv := mapboxsim.New(mapboxsim.Options{Username: "demo", Token: demoToken, Storage: store,
		ProcessingTime: 2 * time.Second, RateLimit: 300, RateWindow: time.Minute})
	defer srv.Close()
	say("simulator of the Mapbox Uploads API on %s (S3 staging on %s)", srv.URL(), store.Endpoint())

	drop := filepath.Join(dir, "drop")
	if err := copyExamples(drop); err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "tilesyncd.yaml")
	cfgText := fmt.Sprintf(`# Written by tilesyncd demo: the daemon pointed at the local simulator.
mapbox:
  username: demo
  api_url: %s
  s3_endpoint: %s
  requests_per_minute: 300
state:
  path: state/state.db
control:
  listen: "off"
watch:
  - path: drop
    settle: 1s
rules:
  - match: "surveys/**"
    tileset: "{username}.{parent}-{stem}"
    name: "{stem} ({parent})"
  - match: "**"
    tileset: "{username}.{stem}"
`, srv.URL(), store.Endpoint())
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath, config.LoadOptions{RequireToken: true, Getenv: func(string) string { return demoToken }})
	if err != nil {
		return err
	}
	say("copied the example files into %s; configuration in %s", drop, cfgPath)

	d, err := daemon.Open(cfg, daemon.Options{Logger: log})
	if err != nil {
		return err
	}
	defer d.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() { stopRun(); <-done }()

	st, in := d.Syncer().Stats(), d.Intake().Stats()
	n := int64(countFiles(drop))
	say("the daemon is running: %d files settle, are staged, created and processed", n)
	if err := waitDemo(ctx, done, func() bool { return st.Uploaded.Load() >= n }); err != nil {
		return err
	}
	printUploads(out, srv)

	say("changing trees.csv (a new row), and touching elevation.tif without changing it")
	f, err := os.OpenFile(filepath.Join(drop, "trees.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "4,birch,40.8034,-73.9761")
	f.Close()
	later := time.Now()
	os.Chtimes(filepath.Join(drop, "elevation.tif"), later, later)
	if err := waitDemo(ctx, done, func() bool { return st.Uploaded.Load() >= n+1 && in.Unchanged.Load() >= 1 }); err != nil {
		return err
	}
	say("trees.csv was sent again; elevation.tif had the same bytes and was skipped (no API request, no charge)")
	printUploads(out, srv)

	counts := srv.Counts()
	var parts []string
	total := 0
	for ep, c := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", ep, c))
		total += c
	}
	sort.Strings(parts)
	say("%d API requests for %d uploads: %s", total, len(srv.Uploads()), strings.Join(parts, ", "))
	fmt.Fprintln(out, "\nNext: copy config.example.yaml, set mapbox.username and MAPBOX_ACCESS_TOKEN, and run 'tilesyncd run --config FILE'.")
	return nil
}

// waitDemo waits until cond holds, the daemon stops or ctx ends.
func waitDemo(ctx context.Context, done <-chan error, cond func() bool) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the demo did not finish: %w", ctx.Err())
		case err := <-done:
			return fmt.Errorf("the daemon stopped: %v", err)
		case <-t.C:
		}
	}
	return nil
}

func copyExamples(dst string) error {
	return fs.WalkDir(examples.Drop, "drop", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(strings.TrimPrefix(p, "drop")))
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := examples.Drop.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func printUploads(out io.Writer, srv *mapboxsim.Server) {
	fmt.Fprintf(out, "    %-32s %-26s %s\n", "tileset", "upload", "content (sha256)")
	for _, u := range srv.Uploads() {
		state := "processed"
		if u.Error != "" {
			state = "failed: " + u.Error
		}
		fmt.Fprintf(out, "    %-32s %-26s %.12s… %s\n", u.Tileset, u.ID, u.SHA256, state)
	}
}
