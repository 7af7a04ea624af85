package main

import (
	"context"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The demo runs to completion with no network and no MinIO: its simulator
// and S3 store are in the process, on 127.0.0.1.
func TestDemo(t *testing.T) {
	var out, logs testkit.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := runDemo(ctx, t.TempDir(), false, slog.New(slog.NewTextHandler(&logs, nil)), &out); err != nil {
		t.Fatalf("demo: %v\nlog:\n%s", err, logs.String())
	}
	for _, want := range []string{"demo.trees", "demo.surveys-hydrants", "trees.csv was sent again", "skip: unchanged"} {
		if !strings.Contains(out.String()+logs.String(), want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if strings.Contains(logs.String(), demoToken) || strings.Contains(out.String(), demoToken) {
		t.Error("the demo shows its token")
	}
}
