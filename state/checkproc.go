package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Checker checks a database file before Open maps it, where a damaged
// page can neither crash nor hang the caller. It returns what it checked, an
// error wrapping ErrCorrupt (with the cause) for a damaged file, ErrLocked
// when another process holds the file for longer than lockTimeout, or
// another error when it could not check at all.
type Checker interface {
	CheckFile(path string, lockTimeout time.Duration) (FileCheck, error)
}

// FileCheck is what a Checker found sound.
type FileCheck struct {
	// TxID is the transaction checked: Open uses the file only if its own
	// view of it has the same, so that nothing was written in between.
	TxID uint64 `json:"txid"`
	// Schema is the file's schema version (0 for a file with no tilesyncd
	// data yet).
	Schema int `json:"schema"`
	// Store reports that Store.Check ran too, which it does when the schema
	// is current: Open then does not repeat it.
	Store bool `json:"store"`
}

// SetDefaultChecker sets the Checker Open uses when Options.Checker is nil
// (nil: the in-process check, see Options.Checker). tilesyncd's main sets
// a CheckProcess; it is meant to be called once, before any Open.
func SetDefaultChecker(c Checker) {
	if c == nil {
		defaultChecker.Store(nil)
		return
	}
	defaultChecker.Store(&c)
}

var defaultChecker atomic.Pointer[Checker]

// CheckProcess checks a database file in a child process: this program
// re-executed with the environment variable TILESYNCD_STATE_CHECK naming the
// file, which CheckProcessMain recognises. A fault there kills the child, not
// the caller; a walk that does not end is killed after Timeout. Either is
// reported as ErrCorrupt. The program must call CheckProcessMain before
// anything else in main (a test binary: in TestMain).
type CheckProcess struct {
	// Executable is the program to run; "" is this one (/proc/self/exe on
	// Linux, so that a binary replaced by an upgrade still runs itself).
	Executable string
	// Timeout bounds the check from when the child holds the file (the wait
	// for the lock is bounded by the lock timeout). Zero is 5 s plus 1 s per
	// 64 MB of file; the file is read ahead into the page cache first, and
	// the check takes about 50 ms for 100,000 files (34 MB) here.
	Timeout time.Duration
}

var _ Checker = CheckProcess{}

// The child's environment and the line it reports on.
const (
	checkEnv        = "TILESYNCD_STATE_CHECK"         // the file to check
	checkEnvLock    = "TILESYNCD_STATE_CHECK_LOCK"    // the lock timeout
	checkEnvTimeout = "TILESYNCD_STATE_CHECK_TIMEOUT" // the check's own bound
	checkReportTag  = "tilesyncd-state-check: "
	checkOpenedLine = checkReportTag + "opened\n" // the file is open: the check begins
)

// checkReport is the child's answer, one JSON line after checkReportTag.
type checkReport struct {
	FileCheck
	Damage string `json:"damage,omitempty"` // why the file is damaged
	Locked bool   `json:"locked,omitempty"`
	Error  string `json:"error,omitempty"` // could not check (not damage)
}

// startTimeout bounds the check process's start and its opening of the file
// (bbolt reads the meta pages; no walk yet), not counting the lock's wait.
const startTimeout = 5 * time.Second

// errNoCheckProcess: the child could not be started at all. Open then checks
// in-process, as it would with no Checker, and logs why.
var errNoCheckProcess = errors.New("cannot start the check process")

// CheckFile runs the check in a child process. See Checker.
func (c CheckProcess) CheckFile(path string, lockTimeout time.Duration) (FileCheck, error) {
	exe := c.Executable
	if exe == "" {
		var err error
		if exe, err = selfExecutable(); err != nil {
			return FileCheck{}, fmt.Errorf("%w: %v", errNoCheckProcess, err)
		}
	}
	size, err := preload(path)
	if err != nil {
		return FileCheck{}, fmt.Errorf("check state %s: %w", path, err)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5*time.Second + time.Duration(size>>26)*time.Second
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), checkEnv+"="+path,
		checkEnvLock+"="+lockTimeout.String(), checkEnvTimeout+"="+timeout.String())
	stdout := &cappedBuffer{opened: make(chan struct{})}
	var stderr cappedBuffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return FileCheck{}, fmt.Errorf("%w: %v", errNoCheckProcess, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The clock runs from when the child holds the file: waiting for another
	// process's lock is bounded by lockTimeout, start-up by startTimeout.
	timedOut := false
	timer := time.NewTimer(lockTimeout + startTimeout)
	defer timer.Stop()
	opened := stdout.opened
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-opened:
			opened = nil
			timer.Reset(timeout)
		case <-timer.C:
			timedOut = true
			cmd.Process.Kill()
			err = <-done
			break wait
		}
	}
	if r, ok := parseReport(stdout.Bytes()); ok {
		switch {
		case r.Locked:
			return FileCheck{}, fmt.Errorf("another tilesyncd is using %s (waited %s): %w", path, lockTimeout, ErrLocked)
		case r.Damage != "":
			return FileCheck{}, corrupt(path, errors.New(r.Damage))
		case r.Error != "":
			return FileCheck{}, fmt.Errorf("check state %s: %s", path, r.Error)
		}
		return r.FileCheck, nil
	}
	switch {
	case opened != nil && timedOut:
		return FileCheck{}, fmt.Errorf("check state %s: the check process did not open it within %s", path, lockTimeout+startTimeout)
	case opened != nil:
		// It ended before it held the file: not the file's doing (a program
		// that does not call CheckProcessMain, for one).
		return FileCheck{}, fmt.Errorf("check state %s: the check process %s ended without a report (%v%s)", path, exe, err, crashLine(stderr.Bytes()))
	case timedOut:
		return FileCheck{}, corrupt(path, fmt.Errorf("checking its pages did not end within %s", timeout))
	}
	return FileCheck{}, corrupt(path, fmt.Errorf("checking its pages killed the check process (%v%s)", err, crashLine(stderr.Bytes())))
}

// selfExecutable is the running program's file.
func selfExecutable() (string, error) {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe", nil
		}
	}
	return os.Executable()
}

func parseReport(out []byte) (checkReport, bool) {
	for line := range bytes.Lines(out) {
		if rest, ok := bytes.CutPrefix(line, []byte(checkReportTag)); ok {
			var r checkReport
			if json.Unmarshal(rest, &r) == nil {
				return r, true
			}
		}
	}
	return checkReport{}, false
}

// crashLine picks the Go runtime's one-line reason out of a crashed child's
// output (": unexpected fault address 0x…"), or "".
func crashLine(stderr []byte) string {
	for line := range strings.Lines(string(stderr)) {
		line = strings.TrimSpace(line)
		for _, p := range []string{"fatal error: ", "panic: ", "unexpected fault address", "runtime: "} {
			if strings.HasPrefix(line, p) {
				return ": " + line
			}
		}
	}
	return ""
}

// cappedBuffer keeps the first 64 KB written to it, and closes opened (if
// not nil) when the check process says it holds the file.
type cappedBuffer struct {
	opened chan struct{} // set before the first Write

	mu   sync.Mutex
	buf  bytes.Buffer
	told bool // opened is closed
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	if b.opened != nil && !b.told && bytes.Contains(b.buf.Bytes(), []byte(checkOpenedLine)) {
		close(b.opened)
		b.told = true
	}
	return len(p), nil
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// CheckProcessMain makes this process the check process when it was started
// as one (TILESYNCD_STATE_CHECK is set): it checks the file, prints its
// report and exits. Otherwise it returns at once. Call it first in main, and
// in TestMain of a test binary whose tests open state through a CheckProcess.
func CheckProcessMain() {
	path, ok := os.LookupEnv(checkEnv)
	if !ok {
		return
	}
	lockTimeout, _ := time.ParseDuration(os.Getenv(checkEnvLock))
	timeout, err := time.ParseDuration(os.Getenv(checkEnvTimeout))
	if err != nil || timeout <= 0 {
		timeout = 10 * time.Second
	}
	// Bound this process by itself too, should its parent be gone, and keep
	// a cycle of pages from growing the stack for long before it overflows.
	time.AfterFunc(lockTimeout+timeout, func() {
		fmt.Fprintf(os.Stderr, "tilesyncd: checking %s did not end within %s\n", path, timeout)
		os.Exit(3)
	})
	debug.SetMaxStack(64 << 20)
	fc, err := checkFile(path, lockTimeout, func() { fmt.Fprint(os.Stdout, checkOpenedLine) })
	r := checkReport{FileCheck: fc}
	switch {
	case errors.Is(err, ErrLocked):
		r.Locked = true
	case errors.Is(err, ErrCorrupt):
		r.Damage = damageOf(err)
	case err != nil:
		r.Error = err.Error()
	}
	line, _ := json.Marshal(r)
	fmt.Fprintf(os.Stdout, "%s%s\n", checkReportTag, line)
	os.Exit(0)
}

// damageOf is the cause inside a corrupt() error, without the advice that
// the parent adds again.
func damageOf(err error) string {
	var d *damageError
	if errors.As(err, &d) {
		return d.cause.Error()
	}
	return err.Error()
}
