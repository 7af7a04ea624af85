package control

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file that is not a socket where the socket goes is kept, and Listen
// names it; so is a link, even to a stale socket.
func TestListenUnixKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "control.sock")
	const content = "not a socket: someone's data\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("unix:"+path, false)
	if err == nil {
		ln.Close()
		t.Fatalf("Listen over a regular file succeeded")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: %v, want an error naming %s as not a socket", err, path)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != content {
		t.Errorf("the regular file at %s after Listen: %q, %v; want it intact", path, b, err)
	}

	sub := filepath.Join(dir, "folder.sock")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen("unix:"+sub, false); err == nil || !strings.Contains(err.Error(), sub) {
		if ln != nil {
			ln.Close()
		}
		t.Errorf("Listen over a folder: %v, want an error naming it", err)
	}
	if _, err := os.Stat(sub); err != nil {
		t.Errorf("the folder is gone: %v", err)
	}

	link := filepath.Join(dir, "link.sock")
	if err := os.Symlink(path, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if ln, err := Listen("unix:"+link, false); err == nil || !strings.Contains(err.Error(), link) {
		if ln != nil {
			ln.Close()
		}
		t.Errorf("Listen over a link: %v, want an error naming it", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the link is gone: %v", err)
	}
}
