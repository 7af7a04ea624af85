package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/daemon"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "see tilesyncd sync the bundled examples to a built-in simulator (no account, no network)",
		usage:   "[--dir DIR] [--keep] [--log-format auto|console|text|json]",
		help: `Starts a local simulator of Mapbox's Uploads API (and of its S3 staging
bucket) and of the Tiling Service on 127.0.0.1, copies the bundled example
files — GeoJSON, GPX, KML, CSV, a zipped shapefile, MBTiles, GeoTIFF — into
a drop folder, with two larger GeoJSON files written for the occasion, and
runs the daemon on them, as it would run against Mapbox: one rule sends a
folder's GeoJSON through the Tiling Service (converted, its recipe applied,
published), the others through the Uploads API. The demo's link to S3 is held to 4 MiB/s,
as a laptop's in the field, so that the larger files' staging can be
watched. You see each file settle, get staged, created and processed; then
one file is changed and sent again, and one is touched without changing
and is skipped; a summary ends it.

Nothing leaves this machine and no Mapbox account is needed. The drop folder,
configuration and state live in a temporary folder, removed at the end unless
--keep (or --dir) is given.

The log goes to stderr: the console on a terminal, text otherwise, or as
--log-format says.

` + logFormatHelp,
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			dir := fs.String("dir", "", "work in this folder (kept) instead of a temporary one")
			keep := fs.Bool("keep", false, "keep the temporary folder")
			timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
			lf := consoleLogFlags(fs, "text")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usageError{"takes no arguments"}
				}
				lf.stdout = stdout
				sink, err := lf.open(stderr, nil) // the watch folder is learnt from the log
				if err != nil {
					return usageError{err.Error()}
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				ctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				return runDemo(ctx, demoRun{dir: *dir, keep: *keep, sink: sink, out: stdout, rate: demoRate})
			}
		},
	})
}

// demoToken is the simulator's token: not a Mapbox token.
const demoToken = "sk.demo-simulator-token"

// demoRate is the demo's link to S3, in bytes per second: a laptop in the
// field, slow enough for the larger files' progress to be watched.
const demoRate = 4 << 20

// demoRun is one run of the demo.
type demoRun struct {
	dir  string // "" for a temporary folder
	keep bool   // keep the temporary folder
	sink *logSink
	out  io.Writer // the narrative and the summary
	rate int64     // what staging sends per second; 0: no limit
}

// runDemo runs the demo. It is long because it is the demo's script, read
// top to bottom.
func runDemo(ctx context.Context, demo demoRun) error {
	start := time.Now()
	dir := demo.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tilesyncd-demo-")
		if err != nil {
			return err
		}
		dir = tmp
		if !demo.keep {
			defer os.RemoveAll(tmp)
		}
	}
	say := narrator(demo.sink.lines(demo.out), demo.sink.width())

	store, err := mapboxsim.NewMemStorage(mapboxsim.MemOptions{Dir: filepath.Join(dir, "simulator-s3")})
	if err != nil {
		return err
	}
	defer store.Close()
	srv := mapboxsim.New(mapboxsim.Options{Username: "demo", Token: demoToken, Storage: store,
		ProcessingTime: 2 * time.Second, RateLimit: 300, RateWindow: time.Minute})
	defer srv.Close()
	say("a simulator of the Mapbox Uploads API on %s, its S3 staging on %s", srv.URL(), store.Endpoint())

	drop := filepath.Join(dir, "drop")
	cfg, cfgPath, err := demoSetup(dir, drop, srv.URL(), store.Endpoint())
	if err != nil {
		return err
	}
	say("the example files, and two larger GeoJSON files, are in %s; the configuration in %s", drop, cfgPath)

	d, err := daemon.Open(cfg, daemon.Options{Logger: demo.sink.log,
		Staging: staging.Options{HTTPClient: slowLink(demo.rate)}})
	if err != nil {
		return err
	}
	defer d.Close()
	demo.sink.show(d)
	stopDisplay := demo.sink.start()
	defer stopDisplay()
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	var runErr error
	go func() {
		defer close(ran)
		runErr = d.Run(runCtx)
	}()
	stopDaemon := func() { stopRun(); <-ran }
	defer stopDaemon()
	wait := func(cond func() bool) error {
		return waitDemo(ctx, ran, func() error { return runErr }, cond)
	}

	st, in := d.Syncer().Stats(), d.Intake().Stats()
	n := int64(countFiles(drop))
	say("the daemon runs: %d files settle, are staged%s, created and processed", n, atRate(demo.rate))
	if err := wait(func() bool { return st.Uploaded.Load() >= n }); err != nil {
		return err
	}

	say("changing trees.csv (a new row), and touching elevation.tif without changing it")
	if err := changeAndTouch(drop); err != nil {
		return err
	}
	if err := wait(func() bool { return st.Uploaded.Load() >= n+1 && in.Unchanged.Load() >= 1 }); err != nil {
		return err
	}
	say("trees.csv was sent again; elevation.tif had the same bytes and was skipped (no API request, no charge)")
	stopDaemon()
	stopDisplay()
	printDemoSummary(demo.out, srv, demoCounts{files: n, uploaded: st.Uploaded.Load(), failed: st.Failed.Load(),
		unchanged: st.Unchanged.Load() + in.Unchanged.Load(), took: time.Since(start)})
	return nil
}

// demoSetup fills the drop folder and writes the configuration that points
// the daemon at the simulator.
func demoSetup(dir, drop, apiURL, s3URL string) (*config.Config, string, error) {
	if err := copyExamples(drop); err != nil {
		return nil, "", err
	}
	if err := writeLargeExamples(drop); err != nil {
		return nil, "", err
	}
	if err := copyRecipes(dir); err != nil { // demo_mts.go
		return nil, "", err
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
  - match: "cycling/*.geojson"
    target: mts
    tileset: "{username}.{stem}"
    recipe: recipes/cycling.json
    layer: "{stem}"
  - match: "**"
    tileset: "{username}.{stem}"
`, apiURL, s3URL)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		return nil, "", err
	}
	cfg, err := config.Load(cfgPath, config.LoadOptions{RequireToken: true, Getenv: func(string) string { return demoToken }})
	return cfg, cfgPath, err
}

// changeAndTouch appends a row to trees.csv and touches elevation.tif.
func changeAndTouch(drop string) error {
	f, err := os.OpenFile(filepath.Join(drop, "trees.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "4,birch,40.8034,-73.9761")
	if err := f.Close(); err != nil {
		return err
	}
	later := time.Now()
	return os.Chtimes(filepath.Join(drop, "elevation.tif"), later, later)
}

// waitDemo waits until cond holds, the daemon stops (ran is closed; runErr
// says why) or ctx ends.
func waitDemo(ctx context.Context, ran <-chan struct{}, runErr func() error, cond func() bool) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the demo did not finish: %w", ctx.Err())
		case <-ran:
			return fmt.Errorf("the daemon stopped: %v", runErr())
		case <-t.C:
		}
	}
	return nil
}
