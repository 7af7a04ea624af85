package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary builds cmd/tilesyncd once per test binary, into a temporary
// folder, and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "tilesyncd-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "tilesyncd")
		if runtime.GOOS == "windows" {
			build.path += ".exe"
		}
		_, self, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/tilesyncd")
		cmd.Dir = filepath.Join(filepath.Dir(self), "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

// RemoveBinary removes what Binary built; TestMain calls it after m.Run.
func RemoveBinary() {
	if build.path != "" {
		os.RemoveAll(filepath.Dir(build.path))
	}
}
