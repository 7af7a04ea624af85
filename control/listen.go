package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
)

// Listen opens the control endpoint's listener. addr is "host:port" or
// "unix:/path" (config.Control.Listen). A host that is not loopback is
// refused unless allowRemote. A Unix socket left by a process that died is
// removed; a live one is an error, as is any other file at the socket's
// path (never removed) and a TCP port already in use.
func Listen(addr string, allowRemote bool) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return listenUnix(addr, path)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("control endpoint %q: %w", addr, err)
	}
	if !allowRemote && !config.IsLoopback(host) {
		return nil, fmt.Errorf("control endpoint %s: not a loopback address (set control.allow_remote to serve it beyond this machine)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("control endpoint %s in use: another tilesyncd is running? (set control.listen to another address, or off): %w", addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("control endpoint %s: %w", addr, err)
	}
	return ln, nil
}

// listenUnix listens on a Unix socket at path. Whatever is at path already
// is removed only when it is a socket nothing answers on (left by a process
// that died): a regular file, a folder or a link there is someone else's,
// and is refused with an error naming it.
func listenUnix(addr, path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control endpoint %s: %s exists and is not a socket (%s): not removing it; move it away or set control.listen to another path",
				addr, path, kind(fi.Mode()))
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("control endpoint %s in use: another tilesyncd is running?", addr)
		}
		// A stale socket. Remove it only if it is still the file looked at
		// (the window left between this look and the removal is a
		// process's that can write to the socket's folder, which could
		// remove the file itself).
		if again, err := os.Lstat(path); err != nil || !os.SameFile(fi, again) {
			return nil, fmt.Errorf("control endpoint %s: %s changed while it was checked: not removing it", addr, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control endpoint %s: remove the stale socket: %w", addr, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control endpoint %s: %w", addr, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control endpoint %s: %w", addr, err)
	}
	if err := os.Chmod(path, 0o600); err != nil && runtime.GOOS != "windows" { // Windows has no such modes
		ln.Close()
		return nil, fmt.Errorf("control endpoint %s: %w", addr, err)
	}
	return ln, nil
}

// kind names a file's type for an error message.
func kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "type " + m.Type().String()
}

// ErrNotRunning: nothing answers at the control endpoint's address.
var ErrNotRunning = errors.New("no tilesyncd answers at the control endpoint")

// NewHTTPClient returns an HTTP client that reaches the control endpoint at
// addr (as Listen takes it), whatever host the request URL names, with a
// short timeout. BaseURL is the URL to put paths after.
func NewHTTPClient(addr string) *http.Client {
	network, address := "tcp", addr
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, address = "unix", path
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy: nil, // never through a proxy: the endpoint is local
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, address)
				if err != nil {
					return nil, fmt.Errorf("%w at %s: %w", ErrNotRunning, addr, err)
				}
				return c, nil
			},
		},
	}
}

// BaseURL is the URL the client of NewHTTPClient is given. Its dialer
// ignores the host, but the server reads it in the Host header, where
// localhost is accepted over TCP and over a Unix socket alike.
const BaseURL = "http://localhost"
