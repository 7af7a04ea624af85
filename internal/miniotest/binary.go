package miniotest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// findBinary returns the MinIO server binary to run: $TILESYNCD_MINIO when set,
// else the cached build under ${TILESYNCD_CACHE:-$HOME/.cache/tilesyncd}/bin,
// else the one scripts/minio.sh builds (several minutes, once per machine).
// Under -short it never builds: skip is true when no binary is at hand.
func findBinary() (path string, skip bool, err error) {
	if p := os.Getenv("TILESYNCD_MINIO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", false, fmt.Errorf("TILESYNCD_MINIO=%s: %w", p, err)
		}
		return p, false, nil
	}
	if cached := cachedPath(); cached != "" {
		if fi, err := os.Stat(cached); err == nil && !fi.IsDir() {
			return cached, false, nil
		}
	}
	if testing.Short() {
		return "", true, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", false, err
	}
	script := filepath.Join(root, "scripts", "minio.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", false, fmt.Errorf("%s: %w\n%s", script, err, stderr.String())
	}
	p := strings.TrimSpace(stdout.String())
	if p == "" {
		return "", false, fmt.Errorf("%s printed no path\n%s", script, stderr.String())
	}
	return p, false, nil
}

func cachedPath() string {
	cache := os.Getenv("TILESYNCD_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache", "tilesyncd")
	}
	return filepath.Join(cache, "bin", "minio")
}

// moduleRoot walks up from the working directory (a test runs in its
// package's folder) to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// howToGet is appended to a failure to find the binary.
const howToGet = `MinIO is needed for this test. Build it once (about 5 minutes) with
  make minio        (or: scripts/minio.sh)
or point TILESYNCD_MINIO at a minio server binary; run with -short to skip.`
