//go:build unix

package intake

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntakeNeverBlocksOnAFIFO: a path the intake is told is a regular file
// but is a FIFO (replaced between the watcher's stat and the open) is
// refused at once with a clear error, as a file or as a shapefile's part:
// opening a FIFO for reading would wait for a writer for ever.
func TestIntakeNeverBlocksOnAFIFO(t *testing.T) {
	e := newIntakeEnv(t, false)
	fifo := filepath.Join(e.drop, "roads.geojson")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"roads.shp", "roads.shx", "roads.dbf"} {
		e.write(t, e.drop, n, n)
	}
	if err := syscall.Mkfifo(filepath.Join(e.drop, "roads.prj"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, filepath.Join(e.drop, "roads.shp")} {
		errc := make(chan error, 1)
		go func() { _, _, _, err := e.s.content(context.Background(), p); errc <- err }()
		select {
		case err := <-errc:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("content(%s) = %v, want a refusal: not a regular file", filepath.Base(p), err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("content(%s) blocked on a FIFO", filepath.Base(p))
		}
	}

	errc := make(chan error, 1)
	go func() { _, _, err := HashFile(context.Background(), fifo); errc <- err }()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), fifo) {
			t.Errorf("HashFile(FIFO) = %v, want a refusal naming it: not a regular file", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("HashFile blocked on a FIFO")
	}
}
