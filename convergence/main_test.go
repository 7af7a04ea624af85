package convergence

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The real binary, built once for the histories that SIGKILL it.
var binaryPath string

func TestMain(m *testing.M) {
	flag.Parse()
	// Histories spend most of their time waiting on timers and on the
	// daemon, so many run at once even on two cores; an explicit -parallel
	// wins.
	if !flagGiven("test.parallel") {
		flag.Set("test.parallel", fmt.Sprint(pick(16, 8)))
	}
	dir, err := os.MkdirTemp("", "tilesyncd-convergence-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, "tilesyncd")
	if out, err := exec.Command("go", "build", "-o", binaryPath, "../cmd/tilesyncd").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ../cmd/tilesyncd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
