package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BinaryEnv names the environment variable that points at a redis-server
// binary when it is not on PATH.
const BinaryEnv = "TILESYNCD_REDIS_SERVER"

const (
	startTimeout = 20 * time.Second // from exec to "Ready to accept connections"
	killTimeout  = 10 * time.Second // from SIGKILL to the process reaped
	logLimit     = 64 << 10         // bytes of the server's output kept for a failed test
	readyLine    = "Ready to accept connections"
)

// Options configure a started server.
type Options struct {
	// Password, if set, is the server's requirepass: clients must AUTH.
	Password string
}

// Server is one redis-server on loopback, owned by one test. Its methods may
// be called from the test's goroutine only (they fail the test on error),
// except Addr, URL, Password, Dir and Log.
type Server struct {
	tb       testing.TB
	bin      string
	dir      string
	port     int
	password string

	log logBuffer

	mu   sync.Mutex
	proc *process // nil while killed
}

// process is one run of redis-server.
type process struct {
	cmd     *exec.Cmd
	ready   chan struct{} // closed when the server said it accepts connections
	exited  chan struct{} // closed when the process has been waited for
	waitErr error         // valid after exited is closed
}

// Start starts a redis-server for tb and kills it when tb's cleanups run. It
// skips tb when no redis-server is found, unless $CI is set: then it fails.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	bin, err := findBinary()
	if err != nil {
		if os.Getenv("CI") == "" {
			tb.Skipf("redistest: %v; skipping (install Debian's redis-server or set %s; with $CI set this fails)", err, BinaryEnv)
		}
		tb.Fatalf("redistest: %v (CI is set: install Debian's redis-server or set %s)", err, BinaryEnv)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), password: opts.Password}
	tb.Cleanup(func() {
		s.kill()
		if tb.Failed() {
			tb.Logf("redistest: redis-server output (%s):\n%s", s.dir, s.Log())
		}
	})
	if err := s.writeConfig(); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	var lastErr error
	for range 3 { // a port taken between choosing it and binding it: choose again
		if s.port, err = freePort(); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
		if !strings.Contains(s.Log(), "Address already in use") {
			break
		}
	}
	tb.Fatalf("redistest: %v\n%s", lastErr, s.Log())
	return nil
}

// findBinary returns $TILESYNCD_REDIS_SERVER, else redis-server on PATH.
func findBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinaryEnv, p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("no redis-server on PATH")
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeConfig writes everything but the port to redis.conf, so that the
// password never shows on a command line.
func (s *Server) writeConfig() error {
	conf := []string{
		"bind 127.0.0.1",
		"protected-mode yes",
		"daemonize no",
		`logfile ""`,
		"dir " + strconv.Quote(s.dir),
		"appendonly yes",
		"appendfsync always",
		`save ""`,
	}
	if s.password != "" {
		conf = append(conf, "requirepass "+strconv.Quote(s.password))
	}
	return os.WriteFile(filepath.Join(s.dir, "redis.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600)
}

// start runs redis-server on s.port and waits until it is ready or exits.
func (s *Server) start() error {
	p := &process{ready: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command(s.bin, filepath.Join(s.dir, "redis.conf"), "--port", strconv.Itoa(s.port))
	p.cmd.Dir = s.dir
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	p.cmd.Stderr = p.cmd.Stdout
	dieWithParent(p.cmd)
	s.log.note(fmt.Sprintf("--- redistest: starting redis-server on port %d", s.port))
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	scanned := make(chan struct{})
	go func() { // the output: kept, and watched for the ready line
		defer close(scanned)
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			s.log.note(line)
			if strings.Contains(line, readyLine) {
				once.Do(func() { close(p.ready) })
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-p.ready:
		s.mu.Lock()
		s.proc = p
		s.mu.Unlock()
		return nil
	case <-p.exited:
		return fmt.Errorf("redis-server on port %d exited before it was ready: %v", s.port, p.waitErr)
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("redis-server on port %d not ready after %v", s.port, startTimeout)
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://127.0.0.1:PORT/0: without the password, as tilesyncd's
// configuration writes it.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Password is the server's requirepass ("" for none).
func (s *Server) Password() string { return s.password }

// Dir is the server's folder: its configuration and append-only file.
func (s *Server) Dir() string { return s.dir }

// Log returns the server's output so far (its last 64 KiB), across restarts.
func (s *Server) Log() string { return s.log.String() }

// Kill sends SIGKILL to the server and waits until the process is gone. The
// port is free once it returns. Killing a killed server does nothing.
func (s *Server) Kill() {
	s.tb.Helper()
	if err := s.kill(); err != nil {
		s.tb.Fatalf("redistest: %v", err)
	}
}

func (s *Server) kill() error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	timer := time.NewTimer(killTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
		return fmt.Errorf("redis-server (pid %d) still running %v after SIGKILL", p.cmd.Process.Pid, killTimeout)
	}
}

// Restart kills the server if it runs and starts it again on the same port,
// with the data it had written (keepData), or empty: its append-only file and
// any snapshot are removed first. It returns once the server accepts
// connections, its data loaded.
func (s *Server) Restart(keepData bool) {
	s.tb.Helper()
	if err := s.kill(); err != nil {
		s.tb.Fatalf("redistest: %v", err)
	}
	if !keepData {
		for _, name := range []string{"appendonlydir", "appendonly.aof", "dump.rdb"} {
			if err := os.RemoveAll(filepath.Join(s.dir, name)); err != nil {
				s.tb.Fatalf("redistest: remove the data: %v", err)
			}
		}
	}
	if err := s.start(); err != nil {
		s.tb.Fatalf("redistest: restart: %v\n%s", err, s.Log())
	}
}

// Client returns a go-redis client of the server, with its password, for a
// test's own checks; it is closed when the test's cleanups run.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.password})
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// logBuffer keeps the last logLimit bytes of the server's output.
type logBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *logBuffer) note(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, line...)
	l.b = append(l.b, '\n')
	if over := len(l.b) - logLimit; over > 0 {
		l.b = append(l.b[:0], l.b[over:]...)
	}
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
