//go:build unix

package state_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// The crash test: a child process (this test binary, re-executed) applies
// random operations to a database and logs each one to a file, fsynced,
// before ("begin") and after ("end", with the error class) it commits. The
// parent kills the child with SIGKILL at random moments, replays the log on
// the in-memory model, reopens the database (Open runs bbolt's page check
// and Check) and compares: the store must equal the model, or — if the log
// ends with a begin and no end — the model with that one operation applied.

const crashEnv = "TILESYNCD_STATE_CRASH_DIR"

type logLine struct {
	Phase string `json:"phase"` // begin or end
	Op    op     `json:"op"`
	Err   string `json:"err"`
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("runs only as the crash test's child")
	}
	if err := crashChild(dir); err != nil {
		fmt.Println("child error:", err)
		os.Exit(3)
	}
}

func crashChild(dir string) error {
	s, err := state.Open(filepath.Join(dir, "state.db"), state.Options{AllowNetworkFS: true, LockTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "ops.log"), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	// A line cut short by the kill would swallow the next one.
	if data, err := os.ReadFile(logf.Name()); err == nil && len(data) > 0 && data[len(data)-1] != '\n' {
		logf.WriteString("\n")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashEnv+"_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, uint64(os.Getpid())))
	write := func(l logLine) error {
		data, _ := json.Marshal(l)
		if _, err := logf.Write(append(data, '\n')); err != nil {
			return err
		}
		return logf.Sync()
	}
	fmt.Println("started")
	for {
		jobs := map[uint64]jobInfo{}
		var maxID uint64
		err := s.Jobs(state.JobFilter{}, func(j state.Job) error {
			jobs[j.ID] = jobInfo{j.Stage, j.SHA256}
			maxID = max(maxID, j.ID)
			return nil
		})
		if err != nil {
			return err
		}
		o := genOp(rng, jobs, maxID+1000)
		if err := write(logLine{Phase: "begin", Op: o}); err != nil {
			return err
		}
		class := applyStore(s, o)
		if err := write(logLine{Phase: "end", Op: o, Err: class}); err != nil {
			return err
		}
		fmt.Println("op")
	}
}

func TestCrash(t *testing.T) {
	kills := 50
	if testing.Short() {
		kills = 10
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seed := rng.Uint64()
	t.Logf("seed %d", seed)

	m := newModel()
	var offset int64 // log bytes already applied to m
	total, killedMidOp, pendingSeen := 0, 0, 0
	for i := range kills {
		runChild(t, dir, seed+uint64(i), rng.IntN(25), time.Duration(rng.IntN(4000))*time.Microsecond)

		data, err := os.ReadFile(filepath.Join(dir, "ops.log"))
		if err != nil {
			t.Fatal(err)
		}
		var pending *op
		for _, line := range bytes.SplitAfter(data[offset:], []byte("\n")) {
			var l logLine
			if len(line) == 0 || line[len(line)-1] != '\n' || json.Unmarshal(line, &l) != nil {
				continue // cut short by the kill: the operation never started
			}
			switch l.Phase {
			case "begin":
				pending = &l.Op
			case "end":
				if pending == nil || *pending != l.Op {
					t.Fatalf("kill %d: end of %+v without its begin", i, l.Op)
				}
				if want := m.apply(l.Op); want != l.Err {
					t.Fatalf("kill %d: %+v: store said %q, model %q", i, l.Op, l.Err, want)
				}
				pending = nil
				total++
			}
		}
		offset = int64(len(data))
		if pending != nil {
			killedMidOp++
		}

		s, err := state.Open(path, state.Options{AllowNetworkFS: true})
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", i, err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		got, err := storeView(s)
		s.Close()
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		d := diff(got, m)
		if d != "" && pending != nil {
			// The operation in progress at the kill may have committed.
			m2 := m.clone()
			m2.apply(*pending)
			if diff(got, m2) == "" {
				m, d = m2, ""
				pendingSeen++
			}
		}
		if d != "" {
			t.Fatalf("kill %d (pending %+v): %s", i, pending, d)
		}
	}
	t.Logf("%d kills (%d inside an operation, %d of those after its commit), %d operations logged; final %d jobs, %d history entries",
		kills, killedMidOp, pendingSeen, total, len(m.jobs), len(m.history))
	if total == 0 {
		t.Fatal("the child committed nothing")
	}
}

// runChild starts the child, waits for it to report started and then n
// operations, and kills it with SIGKILL after delay.
func runChild(t *testing.T, dir string, seed uint64, n int, delay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_SEED="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	started := false
	for seen := 0; seen < n || !started; {
		if !sc.Scan() {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child ended: %v\nstderr: %s", sc.Err(), stderr.String())
		}
		switch line := sc.Text(); {
		case line == "started":
			started = true
		case line == "op":
			seen++
		case strings.HasPrefix(line, "child error"), strings.HasPrefix(line, "---"), strings.HasPrefix(line, "FAIL"):
			t.Fatalf("child: %s", line)
		}
	}
	// The kill lands at a random point of the operations that follow: not
	// a wait for anything, a choice of moment.
	time.Sleep(delay)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
}
