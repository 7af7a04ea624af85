package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// growthSize is one size of figure 12: files, ten to a folder.
type growthSize struct{ files, dirs int }

func growthSizes() []growthSize {
	if short() {
		return []growthSize{{1_000, 100}, {10_000, 1_000}, {100_000, 10_000}}
	}
	return []growthSize{{10_000, 1_000}, {100_000, 10_000}, {1_000_000, 100_000}}
}

// growthMillion is the size the memory target is set at.
const growthMillion = 1_000_000

// BenchmarkGrowth measures figure 12, how the costs grow with the number of
// files: at each size (10,000, 100,000 and 1,000,000 files, ten a folder;
// a tenth of each with -short) the daemon's restart beside a bare walk, the
// real binary's memory, the state database's size and the cost of poll
// mode; then a year of history recorded through the state's own API, and
// what `tilesyncd compact` gives back. Each tree is made once and removed
// in the background once its size is done, while the next figure runs (a
// tree of 1,000,000 files takes minutes to remove); the one of figures 3
// and 7 is shared with them.
//
// TILESYNCD_GROWTH_HEAPPROFILE=DIR also writes, at each size, a heap
// profile of an in-process daemon once it has taken its startup scan
// (DIR/heap-FILES.pprof, for go tool pprof).
func BenchmarkGrowth(b *testing.B) {
	var removing sync.WaitGroup
	defer removing.Wait()
	removeLater := func(dir string) { removing.Go(func() { os.RemoveAll(dir) }) }
	var prev memoryFigures // at the size before
	prevFiles := 0
	for _, sz := range growthSizes() {
		b.Run(fmt.Sprintf("files=%d", sz.files), func(b *testing.B) {
			m := growthAt(b, sz, prev, prevFiles, removeLater)
			prev, prevFiles = m, sz.files
		})
	}
	b.Run("history", growthHistory)
}

// growthAt prints the four figures of one size, and returns its memory
// figures; prev are those of the size before, of prevFiles files (0: none).
// The size's tree is given to removeLater when it is done.
func growthAt(b *testing.B, sz growthSize, prev memoryFigures, prevFiles int, removeLater func(string)) memoryFigures {
	drop, statePath, made := growthTree(b, sz, removeLater)

	walk := growthWalk(b, drop, sz.files)
	run, hashed, requests := restartRun(b, drop, statePath, sz.files)
	ratio := float64(run) / float64(walk)
	line("12. growth, restart over %d unchanged files in %d folders (run, notify mode, until the startup scan is taken): %v — bare walk %v — %.2f× the walk; files hashed %d, API requests %d; targets: ≤ 2× the walk: %s, 0 files read: %s",
		sz.files, sz.dirs, run.Round(time.Millisecond), walk.Round(time.Millisecond), ratio, hashed, requests,
		verdict(ratio <= 2), verdict(hashed == 0))
	b.ReportMetric(ratio, "restart-×walk")

	if dir := os.Getenv("TILESYNCD_GROWTH_HEAPPROFILE"); dir != "" {
		growthHeapProfile(b, drop, statePath, sz.files, filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", sz.files)))
	}

	m := binaryMemory(b, newSetup(b, setupOptions{drop: drop, state: statePath, mode: "notify"}))
	line("12. growth, memory watching %d files (tilesyncd run, notify mode)%s: resident %.1f MB once idle (%.1f MB private, %.1f MB mapped from files: the binary and the state database; peak %.1f MB), %.0f bytes a file%s; startup scan %v; target ≤ 400 MB at 1,000,000 files: %s",
		sz.files, growthFallback(m), float64(m.rss)/1024, float64(m.anon)/1024, float64(m.file)/1024, float64(m.hwm)/1024, float64(m.rss*1024)/float64(sz.files),
		growthMarginal(m, prev, sz.files, prevFiles), m.scan.Round(time.Millisecond), growthMemoryTarget(m, sz.files))
	b.ReportMetric(float64(m.rss*1024)/float64(sz.files), "RSS-B/file")

	fi, err := os.Stat(statePath)
	if err != nil {
		b.Fatal(err)
	}
	line("12. growth, state database recording %d files as uploaded: %.1f MB, %.0f bytes a file (tree and state made in %v)",
		sz.files, float64(fi.Size())/(1<<20), float64(fi.Size())/float64(sz.files), made.Round(time.Second))
	b.ReportMetric(float64(fi.Size())/float64(sz.files), "state-B/file")

	p := growthPoll(b, drop, sz.files)
	atDefault := max(watcher.DefaultPollInterval, p.every)
	shareAtDefault := p.cpu.Seconds() / (p.wall + atDefault).Seconds()
	line("12. growth, poll mode over %d files (the watcher, in process): %v CPU a cycle (walk %v); interval it chose %v with a poll interval of 1 ms; polling used %.1f %% of one core over %d cycles; with the default poll interval of 10 s: every %v, %.2f %% — target ≤ %.0f %%: %s",
		sz.files, p.cpu.Round(time.Millisecond), p.wall.Round(time.Millisecond), p.every.Round(time.Millisecond),
		100*p.share, p.cycles, atDefault.Round(time.Millisecond), 100*shareAtDefault, 100*watcher.DefaultPollMaxShare,
		verdict(p.share <= watcher.DefaultPollMaxShare))
	b.ReportMetric(p.cpu.Seconds(), "poll-cpu-s/cycle")
	b.ReportMetric(100*p.share, "poll-%core")
	return m
}

// growthMarginal describes the memory each file added since the size
// before (what the fixed cost of the process does not blur), and what it
// makes of 1,000,000 files.
func growthMarginal(m, prev memoryFigures, files, prevFiles int) string {
	if prevFiles == 0 {
		return ""
	}
	per := float64((m.rss-prev.rss)*1024) / float64(files-prevFiles)
	at := float64(m.rss)/1024 + per*float64(growthMillion-files)/(1<<20)
	if files >= growthMillion {
		return fmt.Sprintf(", %.0f bytes for each file added since %d files", per, prevFiles)
	}
	return fmt.Sprintf(", %.0f bytes for each file added since %d files (at that rate %.0f MB at 1,000,000)", per, prevFiles, at)
}

// growthMemoryTarget is the verdict on the memory resident once idle
// (watching them, as the issue says) at 1,000,000 files; the peak of the
// startup scan is printed beside it.
func growthMemoryTarget(m memoryFigures, files int) string {
	if files != growthMillion {
		return "applies at 1,000,000 files"
	}
	return verdict(m.rss <= 400*1024)
}

func growthFallback(m memoryFigures) string {
	if m.watchLimit {
		return " (the inotify watch limit was reached: some folders polled)"
	}
	return ""
}

// growthTree makes the tree of a size (the tree of figures 3 and 7 when it
// is that size), given to removeLater when the size is done, and returns
// the time it took.
func growthTree(b *testing.B, sz growthSize, removeLater func(string)) (drop, statePath string, took time.Duration) {
	b.Helper()
	if files, dirs := treeSize(); files == sz.files && dirs == sz.dirs {
		drop, statePath = bigTree(b)
		return drop, statePath, tree.prepareTaken
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "tilesyncd-bench-growth-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { removeLater(dir) })
	if err := makeTree(b, dir, sz.files, sz.dirs); err != nil {
		b.Fatal(err)
	}
	// The walk's decisions are garbage now: give their memory back before
	// the figures measured in this process.
	runtime.GC()
	debug.FreeOSMemory()
	return filepath.Join(dir, "drop"), filepath.Join(dir, "state", "state.db"), time.Since(start)
}

// growthWalk is the best of two bare walks of the tree.
func growthWalk(b *testing.B, drop string, files int) time.Duration {
	b.Helper()
	var best time.Duration
	for range 2 {
		start := time.Now()
		n, err := bareWalk(drop)
		if err != nil {
			b.Fatal(err)
		}
		if n != files {
			b.Fatalf("bare walk: %d files, want %d", n, files)
		}
		if t := time.Since(start); best == 0 || t < best {
			best = t
		}
	}
	return best
}

// growthHeapProfile writes a heap profile of an in-process daemon (notify
// mode) once it has taken the startup scan's report of every file.
func growthHeapProfile(b *testing.B, drop, statePath string, files int, path string) {
	b.Helper()
	s := newSetup(b, setupOptions{drop: drop, state: statePath, mode: "notify"})
	d := s.open(b, 1, nil)
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Minute)
	for d.Intake().Stats().Seen.Load() < int64(files) {
		if time.Now().After(deadline) {
			b.Fatalf("heap profile: %d of %d files taken in 10 minutes", d.Intake().Stats().Seen.Load(), files)
		}
		time.Sleep(20 * time.Millisecond) // polling a counter
	}
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// growthPollFigures is what growthPoll measured.
type growthPollFigures struct {
	cpu, wall time.Duration // process CPU and walk time, per cycle
	every     time.Duration // the wait after a cycle the watcher chose
	share     float64       // process CPU over elapsed time, across whole cycles
	cycles    int
}

// growthPoll runs the watcher in poll mode over the tree in this process,
// with a poll interval of 1 ms and the default PollMaxShare, so the wait
// between cycles is the one it adapts; once its startup scan is reported
// it measures, across whole cycles (from the end of one to the end of
// another), this process's CPU time (getrusage: the walk, the garbage
// collector's share, the events drained) against the time elapsed.
func growthPoll(b *testing.B, drop string, files int) growthPollFigures {
	b.Helper()
	w, err := watcher.New(watcher.Options{Root: drop, Mode: watcher.Poll, Recursive: true,
		PollInterval: time.Millisecond, Settle: time.Nanosecond, FileID: state.FileIdentity})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	initial := make(chan struct{})
	go func() {
		for ev := range w.Events() {
			if ev.Kind == watcher.InitialScanDone {
				close(initial)
			}
		}
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-initial:
	case <-time.After(10 * time.Minute):
		b.Fatal("poll: no startup scan in 10 minutes")
	}
	if st := w.Status(); st.Files != files {
		b.Fatalf("poll: the watcher tracks %d files, want %d", st.Files, files)
	}
	// From the end of a poll cycle to the end of another, 10 s at least:
	// each rest follows the cost of the cycle before it, which varies on a
	// busy machine, so the share is taken over as many cycles as fit (at
	// 1,000,000 files one: a cycle and its rest take a minute and a half,
	// and the rest after the startup scan longer). The status is read
	// every 20 ms, which is the figure's resolution.
	first := growthScansEnd(b, w, w.Status().Scans+1)
	cpu0, t0 := growthCPU(), time.Now()
	var walks time.Duration
	samples := 0
	last := first
	for last.Scans == first.Scans || time.Since(t0) < 10*time.Second {
		last = growthScansEnd(b, w, last.Scans+1)
		walks += last.LastScanDuration
		samples++
	}
	cpu, elapsed := growthCPU()-cpu0, time.Since(t0)
	cycles := last.Scans - first.Scans
	return growthPollFigures{cpu: cpu / time.Duration(cycles), wall: walks / time.Duration(samples),
		every: last.PollEvery, share: cpu.Seconds() / elapsed.Seconds(), cycles: cycles}
}

// growthScansEnd waits until the watcher has done n full scans and returns
// its status then.
func growthScansEnd(b *testing.B, w *watcher.Watcher, n int) watcher.Status {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if st := w.Status(); st.Scans >= n {
			return st
		}
		if time.Now().After(deadline) {
			b.Fatalf("poll: scan %d not done in 10 minutes", n)
		}
		time.Sleep(20 * time.Millisecond) // polling a counter: the resolution of the figure
	}
}

// growthCPU is this process's user and system CPU time so far.
func growthCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The state's default history limits (state.Options.HistoryLimit and
// GlobalHistoryLimit): entries kept per tileset and per file, and globally.
const (
	growthHistoryPer    = 50
	growthHistoryGlobal = 10_000
)

// growthHistory records a year of uploads through the state's own API and
// compacts the database as `tilesyncd compact` does (state.Compact): 10,000
// files (1,000 with -short), each its own tileset as the default rule
// "{username}.{stem}" makes it, each changed 100 times, the changes spread
// over a year on the store's clock. Each upload is the sequence a sync
// makes, one transaction each as the daemon does: Enqueue (with the file's
// record, SkipHeld), StartStaging, SetCredentials, MarkStaged, CreateSent,
// Created, Done. The database lives on tmpfs (/dev/shm) when there is one:
// bbolt lays out its file the same on any filesystem, and on a virtual
// disk the fsyncs (two a transaction, 0.2 ms each here) would add 45
// minutes to the 1,000,000 uploads.
func growthHistory(b *testing.B) {
	files, changes := 10_000, 100
	if short() {
		files = 500
	}
	uploads := files * changes
	path := filepath.Join(growthScratch(b), "state.db")
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st, err := state.Open(path, state.Options{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	step := 365 * 24 * time.Hour / time.Duration(uploads)
	start := time.Now()
	for round := range changes {
		for f := range files {
			if err := growthUpload(st, clk.Now(), f, round*files+f); err != nil {
				st.Close()
				b.Fatalf("upload %d of file %d: %v", round+1, f, err)
			}
			clk.Advance(step)
		}
	}
	took := time.Since(start)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	kept := growthBuckets(b, path)
	before, after, err := state.Compact(path, state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	entries := kept["history"] + kept["history_by_tileset"] + kept["history_by_file"]
	bound := growthHistoryGlobal + growthHistoryPer*(files+files) // tilesets + files
	line("12. growth, a year of history: %d uploads (%d files, each its own tileset, each changed %d times) through the state's API in %v (%.0f µs an upload, 7 transactions): database %.1f MB, %.1f MB after tilesyncd compact (state.Compact): %.0f bytes a file, %.0f bytes an entry of history kept",
		uploads, files, changes, took.Round(time.Second), float64(took.Microseconds())/float64(uploads),
		float64(before)/(1<<20), float64(after)/(1<<20), float64(after)/float64(files), float64(after)/float64(entries))
	line("12. growth, a year of history, what bounds it: %d entries kept (global %d, per tileset %d, per file %d; file records %d, jobs left %d) — the state's limits, %d globally and %d per tileset and per file, bound it by the number of files and tilesets, not by time: %d + %d × (%d tilesets + %d files) = %d: %s",
		entries, kept["history"], kept["history_by_tileset"], kept["history_by_file"], kept["files"], kept["jobs"],
		growthHistoryGlobal, growthHistoryPer, growthHistoryGlobal, growthHistoryPer, files, files, bound, verdict(entries <= bound))
	b.ReportMetric(float64(before)/(1<<20), "history-MB")
	b.ReportMetric(float64(after)/(1<<20), "compacted-MB")
}

// growthScratch is a folder removed at the end of the benchmark, on tmpfs
// when the machine has one.
func growthScratch(b *testing.B) string {
	b.Helper()
	parent := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		parent = "/dev/shm"
	}
	dir, err := os.MkdirTemp(parent, "tilesyncd-bench-history-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// growthUpload records upload n, of file f, as a sync does.
func growthUpload(st *state.Store, now time.Time, f, n int) error {
	key := state.FileKey{Watch: "/srv/tiles/drop", Path: fmt.Sprintf("g%03d/d%05d/f%06d.geojson", f/1000, f/10, f)}
	tileset, sha := fmt.Sprintf("acme.f%06d", f), fmt.Sprintf("%064x", uint64(n+1)*0x9e3779b97f4a7c15)
	rec := state.FileRecord{Key: key, Size: 40_000 + int64(n%997), ModTime: now.UnixNano(),
		FileID: fmt.Sprintf("2049:%d", 1_000_000+f), SHA256: sha, Tileset: tileset}
	res, err := st.Enqueue(state.NewJob{Tileset: tileset, Name: fmt.Sprintf("f%06d", f), Source: key,
		SHA256: sha, Size: rec.Size, File: &rec, SkipHeld: true})
	if err != nil {
		return err
	}
	if res.Held || res.Existing || res.Lost != nil || len(res.Superseded) > 0 {
		return fmt.Errorf("enqueue: %+v, want a new job", res)
	}
	id := res.Job.ID
	creds := state.Credentials{Bucket: "tilestream-tilesets-production", Key: fmt.Sprintf("_pending/%020d/acme", n),
		URL:         fmt.Sprintf("https://tilestream-tilesets-production.s3.amazonaws.com/_pending/%020d/acme", n),
		AccessKeyID: "ASIATESTTESTTESTTEST", SecretAccessKey: fmt.Sprintf("%040d", n),
		SessionToken: fmt.Sprintf("%0800d", n), FetchedAt: now, Expires: now.Add(time.Hour)}
	for _, step := range []func() (state.Job, error){
		func() (state.Job, error) { return st.StartStaging(id) },
		func() (state.Job, error) { return st.SetCredentials(id, creds) },
		func() (state.Job, error) { return st.MarkStaged(id, sha) },
		func() (state.Job, error) { return st.CreateSent(id, now, now) },
		func() (state.Job, error) { return st.Created(id, fmt.Sprintf("cm%023d", n), now) },
		func() (state.Job, error) { return st.Done(id) },
	} {
		if _, err := step(); err != nil {
			return err
		}
	}
	return nil
}

// growthBuckets counts the keys of the database's top-level buckets, read
// with bbolt directly (the store closed).
func growthBuckets(b *testing.B, path string) map[string]int {
	b.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := map[string]int{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			keys[string(name)] = bk.Stats().KeyN
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return keys
}
