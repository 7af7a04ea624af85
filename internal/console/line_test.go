package console

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// Names come from whoever writes to a watch folder: escape sequences,
// newlines, bidirectional overrides and bytes that are not UTF-8 show as
// their Go escapes wherever a name, a reason or an error is printed.
func TestHandlerEscapesHostileNames(t *testing.T) {
	log, out, _ := testLog(80, HandlerOptions{})
	evil := "/srv/drop/a\x1b[2Jb\n14:00:00 uploaded  forged.geojson\u202egpj.\xff"
	j := state.Job{ID: 3, Tileset: "demo.x\x1b]0;pwned\x07", Size: 10, Source: state.FileKey{Watch: "/srv/drop", Path: evil[len("/srv/drop/"):]},
		UploadID: "ab\x1bcdefgh12"}
	log.With("path", evil).Info("queued", "tileset", j.Tileset, "bytes", 10, "job", j.ID)
	log.Info("created: Mapbox is processing", "job", j, "upload_id", j.UploadID)
	log.With("path", evil).Warn("refused: not sent to Mapbox", "reason", "bad\r\nname")
	log.Error("failed permanently: not retried until the file changes", "job", j, "reason", "Mapbox says \x1b[31mno\x1b[0m")
	log.Warn("cannot list folder \x1b[2J", "path", evil, "err", errors.New("open \x1b[2J: denied"))
	log.Warn("conflict: two files map to one tileset, which holds whichever was uploaded last; give them different tilesets in the rules (see tilesyncd plan)",
		"tileset", "demo.t\x1b", "paths", []string{evil, "/srv/drop/\x07bell"})
	log.With("watch", "/srv/\x1b[2J").Info("watching", "root", "/srv/\x1b[2J", "mode", "poll\x1b")
	got := out.String()
	checkWidth(t, got, 80)
	for _, want := range []string{`a\x1b[2Jb\n14:00:00`, `\u202egpj.\xff`, `demo.x\x1b]0;pwned\a`, `ab\x1bcdef`, `bad\r\nname`, `\x1b[31mno`,
		`cannot list folder \x1b[2J`, `open \x1b[2J: denied`, `\abell`, `/srv/\x1b[2J`, `poll\x1b`} {
		if !strings.Contains(strings.ReplaceAll(got, "\n                   ", " "), want) {
			t.Errorf("the lines lack %s:\n%s", want, got)
		}
	}
	for _, row := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if !strings.HasPrefix(row, "14:02:07 ") && !strings.HasPrefix(row, strings.Repeat(" ", 19)) {
			t.Errorf("a row that is neither an event nor its continuation: %q", row)
		}
	}
	t.Logf("\n%s", got)
}

// A randomized property: whatever the names (any script, wide characters,
// combining marks, hostile bytes, any length) and whatever the width, no
// row is wider than the terminal and none holds a control character.
// TILESYNCD_CONSOLE_SEED=N replays a run.
func TestHandlerNeverWraps(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TILESYNCD_CONSOLE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (TILESYNCD_CONSOLE_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	pieces := []string{"a", "roads", "-", "_", "/", " ", "дороги", "道路", "ü", "e\u0301", "\x1b[2J", "\n", "\u202e", "\xff", "🗺", ".geojson", "surveys/2024/"}
	name := func() string {
		var b strings.Builder
		for n := rng.IntN(30); n > 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := 0; i < 300; i++ {
		w := minWidth + rng.IntN(150)
		log, out, _ := testLog(w, HandlerOptions{})
		j := state.Job{ID: uint64(i + 1), Tileset: name(), Size: rng.Int64N(1 << 40), Source: state.FileKey{Watch: "/srv/drop", Path: name()}, UploadID: name()}
		path := "/srv/drop/" + j.Source.Path
		log.With("path", path).Info("queued", "tileset", j.Tileset, "bytes", j.Size, "job", j.ID)
		log.Info("staging", "job", j, "bytes", j.Size)
		log.Info("created: Mapbox is processing", "job", j, "upload_id", j.UploadID)
		log.Error("failed permanently: not retried until the file changes", "job", j, "reason", name()+" "+name())
		log.With("path", path).Warn("refused: not sent to Mapbox", "reason", name())
		log.Warn("transient failure; retrying later", "job", j, "retry_at", time.Now().Format(time.RFC3339), "attempt", 3, "err", errors.New(name()))
		log.Warn(name(), "path", path, "err", errors.New(name()))
		log.Info("tilesyncd starting", "account", name(), "watch_folders", 3)
		log.Info("watching", "root", name(), "mode", name())
		for _, row := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if width(row) > w {
				t.Fatalf("seed %d, run %d: %d columns, over %d: %q", seed, i, width(row), w, row)
			}
			for _, r := range row {
				if r < 0x20 || r == 0x7f || r == '\u202e' {
					t.Fatalf("seed %d, run %d: a control character %q in %q", seed, i, r, row)
				}
			}
		}
	}
}

func TestTruncMiddle(t *testing.T) {
	tests := []struct {
		in   string
		w    int
		want string
	}{
		{"roads.geojson", 20, "roads.geojson"},
		{"surveys/2024/spring/hydrants-north-district.zip", 24, "surveys…rth-district.zip"},
		{"道路道路道路道路道路.geojson", 16, "道路…路.geojson"},
		{"abcdefghij", 4, "abc…"},
		{"abcdefghij", 0, ""},
	}
	for _, tt := range tests {
		got := truncMiddle(tt.in, tt.w)
		if got != tt.want || width(got) > tt.w {
			t.Errorf("truncMiddle(%q, %d) = %q (%d columns), want %q", tt.in, tt.w, got, width(got), tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		in          string
		first, rest int
		want        []string
	}{
		{"short", 20, 20, []string{"short"}},
		{"the file changed while it was staged", 12, 20, []string{"the file", "changed while it was", "staged"}},
		{"a b c d e f g h i j k l m n o p", 4, 4, []string{"a b", "c d", "e f…"}},
		{"averyveryverylongword", 8, 8, []string{"averyver", "yverylon", "gword"}},
	}
	for _, tt := range tests {
		got := wrap(tt.in, tt.first, tt.rest)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", tt.in, tt.first, tt.rest, got, tt.want)
		}
	}
}

func TestSizesAndDurations(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 618: "618 B", 1024: "1.0 KiB", 16384: "16 KiB", 7_100_000: "6.8 MiB",
		24 << 20: "24 MiB", 5 << 30: "5.0 GiB", 3 << 40: "3.0 TiB"} {
		if got := size(n); got != want {
			t.Errorf("size(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{400 * time.Millisecond: "0s", 4 * time.Second: "4s", 65 * time.Second: "1m05s",
		2*time.Hour + 3*time.Minute: "2h03m"} {
		if got := duration(d); got != want {
			t.Errorf("duration(%s) = %q, want %q", d, got, want)
		}
	}
}

// Records that are not events are dropped at the info level, shown
// compactly at the debug level and when they are warnings or errors; the
// level option hides the events below it.
func TestHandlerLevels(t *testing.T) {
	log, out, _ := testLog(80, HandlerOptions{})
	log.Info("API rate limit learned from the server", "limit", 300)
	log.Debug("scan done", "files", 3)
	log.Warn("file keeps changing; reported anyway", "path", "/srv/drop/live.csv", "max_settle", time.Hour)
	log.Error("mark done", "err", errors.New("database closed"))
	want := "14:02:07 warning   file keeps changing; reported anyway: live.csv\n" +
		"14:02:07 error     mark done: database closed\n"
	if out.String() != want {
		t.Errorf("at info:\n%s\nwant:\n%s", out, want)
	}

	log, out, _ = testLog(80, HandlerOptions{Level: slog.LevelDebug})
	log.Debug("scan done", "files", 3)
	log.Info("API rate limit learned from the server", "limit", 300)
	if want := "14:02:07 debug     scan done\n14:02:07 info      API rate limit learned from the server\n"; out.String() != want {
		t.Errorf("at debug:\n%s\nwant:\n%s", out, want)
	}

	log, out, _ = testLog(80, HandlerOptions{Level: slog.LevelWarn})
	log.Info("queued", "path", "/srv/drop/a.csv", "tileset", "demo.a", "bytes", 3, "job", 1)
	log.Warn("refused: not sent to Mapbox", "path", "/srv/drop/a.txt", "reason", "unsupported")
	if want := "14:02:07 refused   a.txt  unsupported\n"; out.String() != want {
		t.Errorf("at warn:\n%s\nwant:\n%s", out, want)
	}
}

// With a Display showing the bars, the periodic progress records are not
// printed; the watch folders records name are learnt.
func TestHandlerProgressAndRoots(t *testing.T) {
	log, out, _ := testLog(80, HandlerOptions{Progress: true, Roots: []string{}})
	log.Info("staging progress", "job", hydrants, "percent", 40, "sent_bytes", 1, "total_bytes", 2)
	log.Info("queued", "path", "/data/in/a.csv", "tileset", "demo.a", "bytes", 3, "job", 1)
	log.With("watch", "/data/in").Info("watching", "root", "/data/in", "mode", "poll")
	log.Info("queued", "path", "/data/in/b.csv", "tileset", "demo.b", "bytes", 3, "job", 2)
	want := "14:02:07 queued    /data/in/a.csv → demo.a  3 B\n" +
		"14:02:07 watching  /data/in  poll\n" +
		"14:02:07 queued    b.csv → demo.b  3 B\n"
	if out.String() != want {
		t.Errorf("lines:\n%s\nwant:\n%s", out, want)
	}
}

// lineWriter fails the test when a Write is not whole lines.
type lineWriter struct {
	t  *testing.T
	mu sync.Mutex
	n  int
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(p) == 0 || p[len(p)-1] != '\n' {
		w.t.Errorf("a write that is not whole lines: %q", p)
	}
	w.n += strings.Count(string(p), "\n")
	return len(p), nil
}

// Many goroutines log at once: each event is written whole, in one call.
func TestHandlerConcurrent(t *testing.T) {
	w := &lineWriter{t: t}
	log := slog.New(NewHandler(w, HandlerOptions{}))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				j := state.Job{ID: uint64(g*1000 + i), Tileset: "demo.t", Source: state.FileKey{Watch: "/d", Path: "f.csv"}}
				log.With("component", "syncer").Info("staging", "job", j, "bytes", 100)
				log.Error("failed permanently: not retried until the file changes", "job", j, "reason", strings.Repeat("long reason ", 20))
			}
		})
	}
	wg.Wait()
	if w.n < 8*200*2 {
		t.Errorf("%d lines written, want at least %d", w.n, 8*200*2)
	}
}

// Each message the handler knows is still written by intake, syncer,
// watcher or daemon: a reworded message would otherwise silently drop its
// events from the terminal.
func TestMessagesAreWritten(t *testing.T) {
	var src strings.Builder
	for _, dir := range []string{"intake", "syncer", "watcher", "daemon"} {
		files, err := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no sources in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	for msg := range messages {
		if !strings.Contains(src.String(), strconv.Quote(msg)) {
			t.Errorf("no package logs %q any more: update events.go", msg)
		}
	}
	for _, retryMsg := range []string{`"retry_at"`, `"attempt"`} {
		if !strings.Contains(src.String(), retryMsg) {
			t.Errorf("the sender no longer logs %s with its retries: update events.go", retryMsg)
		}
	}
}
