package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tilesyncd/tilesyncd/internal/console"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
)

// The demo runs to completion with no network and no MinIO: its simulator
// and S3 store are in the process, on 127.0.0.1. Its log in the console
// format and its narrative fit 80 columns.
func TestDemo(t *testing.T) {
	var out, logs testkit.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sink := &logSink{log: slog.New(console.NewHandler(&logs, console.HandlerOptions{}))}
	if err := runDemo(ctx, demoRun{dir: t.TempDir(), sink: sink, out: &out, rate: 64 << 20}); err != nil {
		t.Fatalf("demo: %v\nlog:\n%s", err, logs.String())
	}
	all := out.String() + logs.String()
	for _, want := range []string{"demo.trees", "demo.surveys-hydrants", "trees.csv was sent again",
		"unchanged elevation.tif → demo.elevation", "uploaded  contours.geojson → demo.contours  12 MiB",
		"==> done in", " 0 failed", "API requests: create ", "==> next: copy config.example.yaml"} {
		if !strings.Contains(all, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	for _, row := range strings.Split(all, "\n") {
		if n := utf8.RuneCountInString(row); n > 80 {
			t.Errorf("a row of %d columns: %q", n, row)
		}
	}
	if strings.Contains(all, demoToken) {
		t.Error("the demo shows its token")
	}
	if t.Failed() {
		t.Logf("output:\n%s\nlog:\n%s", out.String(), logs.String())
	}
}

// The structured logs stay as they were: --log-format text and json, and
// auto off a terminal (JSON for run, text for sync and demo); the console
// is the default on a terminal only.
func TestLogFormats(t *testing.T) {
	tests := []struct {
		lo   logOptions
		want string
	}{
		{logOptions{format: "text"}, "text"},
		{logOptions{format: "JSON"}, "json"},
		{logOptions{format: "console"}, "console"},
		{logOptions{format: "auto", console: true, offTerminal: "json"}, "json"},
		{logOptions{format: "auto", console: true, offTerminal: "text"}, "text"},
		{logOptions{format: "auto", offTerminal: "json"}, "json"},
	}
	for _, tt := range tests {
		if got, err := tt.lo.resolve(&strings.Builder{}); got != tt.want || err != nil {
			t.Errorf("%+v off a terminal: %q, %v; want %q", tt.lo, got, err, tt.want)
		}
	}
	if _, err := (&logOptions{format: "pretty", console: true}).resolve(&strings.Builder{}); err == nil ||
		!strings.Contains(err.Error(), "want console, text, json or auto") {
		t.Errorf("--log-format pretty: %v", err)
	}

	var b strings.Builder
	sink, err := (&logOptions{format: "text", level: "info", console: true}).open(&b, nil)
	if err != nil || sink.display != nil {
		t.Fatalf("open: %v, display %v", err, sink.display)
	}
	sink.log.Info("queued", "path", "/d/a.csv", "tileset", "demo.a", "bytes", 3, "job", 1)
	if got := b.String(); !strings.Contains(got, `level=INFO msg=queued path=/d/a.csv tileset=demo.a bytes=3 job=1`) {
		t.Errorf("the text log: %q", got)
	}
	b.Reset()
	sink, _ = (&logOptions{format: "console", level: "info", console: true}).open(&b, []string{"/d"})
	sink.log.Info("queued", "path", "/d/a.csv", "tileset", "demo.a", "bytes", 3, "job", 1)
	if got := b.String(); !strings.HasSuffix(got, " queued    a.csv → demo.a  3 B\n") {
		t.Errorf("the console: %q", got)
	}
}

// run's, sync's and demo's help explain the formats.
func TestLogFormatsInHelp(t *testing.T) {
	for _, name := range []string{"run", "sync", "demo"} {
		code, out, _ := runCLI(t, "help", name)
		for _, want := range []string{"--log-format", "console", "one short line per event", "progress bar"} {
			if code != 0 || !strings.Contains(out, want) {
				t.Errorf("tilesyncd help %s lacks %q (exit %d):\n%s", name, want, code, out)
			}
		}
	}
}
