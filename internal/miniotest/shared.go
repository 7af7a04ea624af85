package miniotest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// shared is the one server of a test binary that uses Main.
var shared struct {
	mu     sync.Mutex
	inMain bool
	server *Server
	dir    string
	skip   bool
	err    error
}

// Main runs a package's tests and then stops the server Shared started, if
// any, printing its output when a test failed. Use it as
//
//	func TestMain(m *testing.M) { miniotest.Main(m) }
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	if s := shared.server; s != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "miniotest: MinIO output (%s):\n%s\n", s.logPath, s.LogTail())
		}
		if err := s.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "miniotest:", err)
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	return code
}

// Shared returns the test binary's one MinIO server, starting it on first use;
// it is stopped when Main's m.Run returns. Tests sharing it must use keys of
// their own. Without Main in the package's TestMain, Shared falls back to
// Start(tb), one server per test. Skips and failures are as for Start.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	inMain := shared.inMain
	shared.mu.Unlock()
	if !inMain {
		return Start(tb)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server == nil && shared.err == nil && !shared.skip {
		shared.server, shared.skip, shared.err = startShared()
	}
	switch {
	case shared.skip:
		tb.Skip("miniotest: no MinIO binary at hand under -short; skipping")
	case shared.err != nil:
		tb.Fatalf("miniotest: %v", shared.err)
	}
	return shared.server
}

func startShared() (*Server, bool, error) {
	bin, skip, err := findBinary()
	if skip || err != nil {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, howToGet)
		}
		return nil, skip, err
	}
	dir, err := os.MkdirTemp("", "miniotest-")
	if err != nil {
		return nil, false, err
	}
	shared.dir = dir
	s, err := start(bin, dir, false)
	return s, false, err
}
