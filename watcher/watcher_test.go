package watcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/tilesyncd/tilesyncd/config"
)

func forModes(t *testing.T, fn func(t *testing.T, mode Mode)) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			fn(t, mode)
		})
	}
}

func TestStartupReportsExistingFiles(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, func(dir string, o *Options) {
			old := filepath.Join(dir, "old.geojson")
			writeFile(t, old, "{}")
			past := time.Now().Add(-time.Hour)
			if err := os.Chtimes(old, past, past); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "sub", "fresh.mbtiles"), "tiles")
			// FileID gets the stat the watcher made of the file it reports.
			o.FileID = func(fi fs.FileInfo) string { return fmt.Sprintf("%s:%d", fi.Name(), fi.Size()) }
		})
		evs := h.start()
		if len(evs) != 3 || evs[0].Rel != "old.geojson" || evs[1].Rel != "sub/fresh.mbtiles" || evs[2].Kind != InitialScanDone {
			t.Fatalf("startup events:%s\nwant old.geojson at once, sub/fresh.mbtiles after settling, then initial-scan-done", describe(evs))
		}
		for _, ev := range evs[:2] {
			if ev.Kind != Ready || !ev.Initial || ev.Root != h.dir {
				t.Errorf("event %+v: want Ready, Initial, Root %s", ev, h.dir)
			}
		}
		if evs[1].Size != 5 {
			t.Errorf("sub/fresh.mbtiles size = %d, want 5", evs[1].Size)
		}
		if evs[0].FileID != "old.geojson:2" || evs[1].FileID != "fresh.mbtiles:5" {
			t.Errorf("FileIDs %q, %q; want old.geojson:2 (reported at once) and fresh.mbtiles:5 (after settling)", evs[0].FileID, evs[1].FileID)
		}
		if st := h.w.Status(); st.Files != 2 || st.Scans < 1 || st.LastScan.IsZero() {
			t.Errorf("Status = %+v, want 2 files and a scan", st)
		}
	})
}

// TestSlowWriteOneReady writes a file in chunks over twice the settle time:
// exactly one Ready must come, carrying the final size, at least Settle after
// the last write. "No second event" is checked by watching for the quiet
// period (past a settle time and several polls) after the first.
func TestSlowWriteOneReady(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, nil)
		h.start()
		f, err := os.Create(h.path("slow.geojson"))
		if err != nil {
			t.Fatal(err)
		}
		const chunks, gap = 10, testSettle / 5
		chunk := make([]byte, 4096)
		for i := range chunks {
			if _, err := f.Write(chunk); err != nil {
				t.Fatal(err)
			}
			if i < chunks-1 {
				time.Sleep(gap) // the workload: a slow writer, not a wait for the watcher
			}
		}
		lastWrite := time.Now()
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		ev := h.wait(func(ev Event) bool { return ev.Rel == "slow.geojson" }, waitLong)
		got := time.Now()
		if ev.Kind != Ready || ev.Size != chunks*4096 {
			t.Fatalf("event %+v: want Ready with size %d", ev, chunks*4096)
		}
		if early := lastWrite.Add(testSettle - 20*time.Millisecond); got.Before(early) {
			t.Errorf("Ready came %v after the last write, before the settle time %v", got.Sub(lastWrite), testSettle)
		}
		if more := h.collect(quiet); len(more) != 0 {
			t.Errorf("more events after the Ready:%s", describe(more))
		}
	})
}

func TestNestedDirectories(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, nil)
		h.start()
		want := []string{"a/1.geojson", "a/b/2.geojson", "a/b/c/3.geojson", "a/b/c/d/4.geojson", "x/y/5.zip"}
		if err := os.MkdirAll(h.path("a/b/c/d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, rel := range want {
			h.write(rel, rel)
		}
		h.waitAll(Ready, want...)
		if mode == Notify {
			// Files written into a folder after it is watched.
			h.write("a/b/c/d/e/6.geojson", "six")
			h.waitAll(Ready, "a/b/c/d/e/6.geojson")
		}
	})
}

func TestRename(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, nil)
		h.start()
		h.write("sub/draft.geojson", "{}")
		h.write("upload.zip.part", "zip")
		h.waitAll(Ready, "sub/draft.geojson")
		if err := os.Rename(h.path("sub/draft.geojson"), h.path("final.geojson")); err != nil {
			t.Fatal(err)
		}
		// A finished download renamed from its ignored partial name.
		if err := os.Rename(h.path("upload.zip.part"), h.path("upload.zip")); err != nil {
			t.Fatal(err)
		}
		h.waitAll(Ready, "final.geojson", "upload.zip")
		h.waitAll(Removed, "sub/draft.geojson")
		// A folder renamed: its files under the new name.
		h.write("dir1/in.geojson", "in")
		h.waitAll(Ready, "dir1/in.geojson")
		if err := os.Rename(h.path("dir1"), h.path("dir2")); err != nil {
			t.Fatal(err)
		}
		h.waitAll(Ready, "dir2/in.geojson")
		h.waitAll(Removed, "dir1/in.geojson")
	})
}

func TestIgnoredFilesGiveNothing(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, func(dir string, o *Options) {
			o.Ignore = func(rel string, isDir bool) (string, bool) {
				if rel == "private" {
					return "private/", true
				}
				return config.DefaultIgnore(rel, isDir)
			}
		})
		h.start()
		for _, rel := range []string{".hidden", "x.tmp", "~$report.docx", ".~lock.a.ods#", "Thumbs.db",
			"big.crdownload", ".git/config", "sub/.cache/blob", "private/secret.geojson"} {
			h.write(rel, "ignored")
		}
		h.write("keep.geojson", "kept")
		h.waitAll(Ready, "keep.geojson")
		more := h.collect(quiet)
		for _, ev := range h.seen {
			if ev.Kind != InitialScanDone && ev.Rel != "keep.geojson" {
				t.Errorf("event for an ignored path:%s", describe(append(h.seen, more...)))
				break
			}
		}
		if len(more) != 0 {
			t.Errorf("events after keep.geojson:%s", describe(more))
		}
	})
}

func TestRemoved(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, nil)
		h.start()
		h.write("gone.geojson", "1")
		h.write("tree/a.geojson", "2")
		h.write("tree/deep/b.geojson", "3")
		h.waitAll(Ready, "gone.geojson", "tree/a.geojson", "tree/deep/b.geojson")
		if err := os.Remove(h.path("gone.geojson")); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(h.path("tree")); err != nil {
			t.Fatal(err)
		}
		h.waitAll(Removed, "gone.geojson", "tree/a.geojson", "tree/deep/b.geojson")
		waitFor(t, "index empty", waitLong, func() bool { return h.w.Status().Files == 0 })
	})
}

func TestManyFilesAtOnce(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, nil)
		h.start()
		want := make([]string, n)
		for i := range n {
			want[i] = fmt.Sprintf("d%d/f%05d.geojson", i%10, i)
		}
		for i := range 10 {
			if err := os.Mkdir(h.path(fmt.Sprintf("d%d", i)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, rel := range want {
			writeFile(t, h.path(rel), "{}")
		}
		h.waitAll(Ready, want...)
		if st := h.w.Status(); st.Files != n || st.Pending != 0 {
			t.Errorf("Status = %+v, want %d files, none pending", st, n)
		}
		t.Logf("%s: %d files; status %+v", mode, n, h.w.Status())
	})
}

func TestSymlinks(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, func(dir string, o *Options) {
			must := func(err error) {
				if err != nil {
					t.Fatal(err)
				}
			}
			must(os.Mkdir(filepath.Join(dir, "d"), 0o755))
			writeFile(t, filepath.Join(dir, "d", "real.geojson"), "real")
			must(os.Symlink("..", filepath.Join(dir, "d", "loop")))                // a folder loop
			must(os.Symlink("self", filepath.Join(dir, "d", "self")))              // a link to itself
			must(os.Symlink("d", filepath.Join(dir, "dirlink")))                   // a link to a folder
			must(os.Symlink("nowhere", filepath.Join(dir, "dangling")))            // dangling
			must(os.Symlink("d/real.geojson", filepath.Join(dir, "link.geojson"))) // a link to a file
		})
		evs := h.start()
		got := map[string]bool{}
		for _, ev := range evs {
			got[ev.Rel] = true
		}
		if len(evs) != 3 || !got["d/real.geojson"] || !got["link.geojson"] {
			t.Fatalf("startup events:%s\nwant d/real.geojson and link.geojson only", describe(evs))
		}
		// A loop created while watching.
		if err := os.Mkdir(h.path("e"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("..", h.path("e/up")); err != nil {
			t.Fatal(err)
		}
		h.write("e/x.geojson", "x")
		h.waitAll(Ready, "e/x.geojson")
		if more := h.collect(quiet); len(more) != 0 {
			t.Errorf("unexpected events:%s", describe(more))
		}
	})
}

// TestSlowConsumer leaves the events unread while files are created and some
// removed again: the waiting events stay one per path, the removals replacing
// the Ready events, and none is lost.
func TestSlowConsumer(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, nil)
		h.start()
		for i := range 50 {
			h.write(fmt.Sprintf("f%02d.geojson", i), "x")
		}
		waitFor(t, "50 events queued", waitLong, func() bool { return h.w.Status().Queued == 50 })
		for i := range 10 {
			if err := os.Remove(h.path(fmt.Sprintf("f%02d.geojson", i))); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "40 files tracked", waitLong, func() bool { return h.w.Status().Files == 40 })
		if q := h.w.Status().Queued; q != 50 {
			t.Errorf("queued = %d, want 50: one per path", q)
		}
		evs := h.collect(quiet)
		ready, removed := 0, 0
		for _, ev := range evs {
			switch ev.Kind {
			case Ready:
				ready++
			case Removed:
				removed++
			}
		}
		if ready != 40 || removed != 10 || len(evs) != 50 {
			t.Errorf("got %d ready, %d removed of %d events, want 40, 10 of 50:%s", ready, removed, len(evs), describe(evs))
		}
	})
}

// TestOverflowRescan stops reading notifications, creates files (a folder
// among them) whose events are thus held back, then injects an overflow error
// through the path fsnotify's own takes: the rescan must find everything while
// notifications are still not read.
func TestOverflowRescan(t *testing.T) {
	hooks := &testHooks{errs: make(chan error), pause: make(chan bool)}
	h := newHarness(t, Notify, nil)
	h.w.hooks = hooks
	h.start()
	hooks.pause <- true
	want := []string{"lost1.geojson", "lost2.geojson", "newdir/lost3.geojson", "newdir/deeper/lost4.geojson"}
	for _, rel := range want {
		h.write(rel, rel)
	}
	hooks.errs <- fsnotify.ErrEventOverflow
	h.waitAll(Ready, want...)
	st := h.w.Status()
	if st.Overflows != 1 || st.Scans != 2 || st.Watches != 3 {
		t.Errorf("Status = %+v, want 1 overflow, 2 scans, 3 watches", st)
	}
	// The folders found by the rescan are watched.
	hooks.pause <- false
	h.write("newdir/deeper/after.geojson", "after")
	h.waitAll(Ready, "newdir/deeper/after.geojson")
}

// TestWatchLimitFallsBackToPoll makes adding a watch fail as the kernel does
// when inotify watches run out.
func TestWatchLimitFallsBackToPoll(t *testing.T) {
	hooks := &testHooks{addWatchErr: func(dir string) error {
		if filepath.Base(dir) == "deep" {
			return fmt.Errorf("add watch: %w", syscall.ENOSPC)
		}
		return nil
	}}
	h := newHarness(t, Notify, func(dir string, o *Options) {
		if err := os.Mkdir(filepath.Join(dir, "deep"), 0o755); err != nil {
			t.Fatal(err)
		}
	})
	h.w.hooks = hooks
	h.start()
	if got, want := h.w.Status().Mode, "poll (inotify watch limit reached)"; got != want {
		t.Errorf("mode = %q, want %q", got, want)
	}
	h.write("deep/a.geojson", "a")
	h.write("top.geojson", "t")
	h.waitAll(Ready, "deep/a.geojson", "top.geojson")
	if st := h.w.Status(); st.Watches != 0 {
		t.Errorf("watches = %d after the fall-back, want 0", st.Watches)
	}
}

func TestAutoModeHere(t *testing.T) {
	h := newHarness(t, Auto, nil)
	h.start()
	// t.TempDir is on a local disk on the test machines.
	if got := h.w.Status().Mode; got[:6] != "notify" {
		t.Errorf("auto mode on a temporary folder = %q, want notify (…)", got)
	}
}

func TestRunErrors(t *testing.T) {
	w, err := New(Options{Root: filepath.Join(t.TempDir(), "missing")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(t.Context()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run on a missing folder = %v, want ErrNotExist", err)
	}
	if _, ok := <-w.Events(); ok {
		t.Error("Events not closed after Run returned")
	}
	if err := w.Run(t.Context()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestNonRecursive(t *testing.T) {
	forModes(t, func(t *testing.T, mode Mode) {
		h := newHarness(t, mode, func(dir string, o *Options) { o.Recursive = false })
		h.start()
		h.write("sub/skipped.geojson", "no")
		h.write("top.geojson", "yes")
		h.waitAll(Ready, "top.geojson")
		if more := h.collect(quiet); len(more) != 0 {
			t.Errorf("events below the root of a non-recursive watch:%s", describe(more))
		}
		if got := h.w.Status().Mode; got != string(mode) {
			t.Errorf("Status().Mode = %q, want %q", got, mode)
		}
	})
}
