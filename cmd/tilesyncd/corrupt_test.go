package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/state"
)

// The corruption campaign (issue 13, item 3): random damage to a real state
// database (bit flips, zeroed, swapped and overwritten pages, truncations),
// each given to the real binary's `run`, `sync --once` and `status`. Every
// command must refuse the file with the "damaged; move it aside" message, or
// open it when bbolt and the store's check find nothing wrong with it (damage
// in free space or an older meta page), and never crash (signal, Go panic or
// fatal error) nor take longer than campaignLimit.
//
// It runs campaignCI corruptions by default, campaignFull with
// TILESYNCD_CHAOS=full (make chaos). TILESYNCD_CORRUPT_SEED=N replays a
// campaign, TILESYNCD_CORRUPT_ONLY=I one corruption of it.
const (
	campaignCI    = 60
	campaignFull  = 1000
	campaignLimit = 10 * time.Second
)

// The binary under test, built once (TestMain removes it).
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func tilesyncdBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "tilesyncd-corrupt-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "tilesyncd")
		out, err := exec.Command("go", "build", "-o", build.path, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// outcome is what one command did with one damaged file.
type outcome int

const (
	refused outcome = iota // exited with the damaged-file message
	opened                 // opened the file (bbolt and Check found it sound)
	crashed                // died of a signal, or printed a panic or fatal error
	hung                   // still running after campaignLimit
	other                  // anything else: a wrong message, an unexpected exit
)

func (o outcome) String() string {
	return [...]string{"refused", "opened", "crashed", "hung", "other"}[o]
}

// damage is one random corruption of data, described for the log.
func damage(rng *rand.Rand, data []byte, pageSize int) ([]byte, string) {
	d := bytes.Clone(data)
	pages := len(d) / pageSize
	page := func() int { return rng.IntN(pages) }
	switch kind := rng.IntN(6); kind {
	case 0, 1: // bit flips, anywhere
		n := 1 + rng.IntN(8)
		var at []int
		for range n {
			off := rng.IntN(len(d))
			d[off] ^= 1 << rng.IntN(8)
			at = append(at, off)
		}
		return d, fmt.Sprintf("%d bit flip(s) at %v", n, at)
	case 2: // a zeroed page
		p := page()
		clear(d[p*pageSize : (p+1)*pageSize])
		return d, fmt.Sprintf("page %d zeroed", p)
	case 3: // two pages swapped
		p, q := page(), page()
		a := bytes.Clone(d[p*pageSize : (p+1)*pageSize])
		copy(d[p*pageSize:], d[q*pageSize:(q+1)*pageSize])
		copy(d[q*pageSize:], a)
		return d, fmt.Sprintf("pages %d and %d swapped", p, q)
	case 4: // a truncation, page-aligned or not
		n := rng.IntN(len(d))
		if rng.IntN(2) == 0 {
			n -= n % pageSize
		}
		return d[:n], fmt.Sprintf("truncated to %d of %d bytes", n, len(d))
	default: // a stretch of random bytes within a page
		p := page()
		off := p*pageSize + rng.IntN(pageSize)
		n := 1 + rng.IntN(min(64, len(d)-off))
		for i := range n {
			d[off+i] = byte(rng.Uint32())
		}
		return d, fmt.Sprintf("%d random bytes at %d (page %d)", n, off, p)
	}
}

// TestCorruptionCampaign is the campaign. Corruption i uses the seed
// seed+i, so one corruption replays alone.
// It is long because the campaign's steps share each corruption's files and verdicts.
func TestCorruptionCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary thousands of times")
	}
	bin := tilesyncdBinary(t)
	count := campaignCI
	if os.Getenv("TILESYNCD_CHAOS") == "full" {
		count = campaignFull
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TILESYNCD_CORRUPT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TILESYNCD_CORRUPT_SEED: %v", err)
		}
	}
	only := -1
	if s := os.Getenv("TILESYNCD_CORRUPT_ONLY"); s != "" {
		only, _ = strconv.Atoi(s)
	}
	t.Logf("corruption campaign: %d corruptions, seed %d (replay: TILESYNCD_CORRUPT_SEED=%d)", count, seed, seed)

	srv, s3 := mapboxsim.StartMem(t, mapboxsim.Options{Username: "acme", Token: runTestToken})
	dir := t.TempDir()
	original := filepath.Join(dir, "original.db")
	fillCampaignState(t, original)
	data, err := os.ReadFile(original)
	if err != nil {
		t.Fatal(err)
	}
	drop := filepath.Join(dir, "drop")
	os.Mkdir(drop, 0o755)
	t.Setenv("MAPBOX_ACCESS_TOKEN", runTestToken)

	type result struct {
		i    int
		what string
		cmd  string
		out  outcome
		took time.Duration
		why  string
	}
	commands := [][]string{
		{"run", "--log-format", "json", "--log-level", "debug"},
		{"sync", "--once", "--log-format", "json", "--log-level", "debug"},
		{"status"},
	}
	jobs := make(chan func() []result)
	results := make(chan []result)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for job := range jobs {
				results <- job()
			}
		})
	}
	start := time.Now()
	go func() {
		for i := range count {
			if only >= 0 && i != only {
				continue
			}
			rng := rand.New(rand.NewPCG(seed+uint64(i), 13))
			damaged, what := damage(rng, data, 4096)
			jobs <- func() []result {
				var rs []result
				for _, args := range commands {
					cdir := filepath.Join(dir, fmt.Sprintf("c%04d-%s", i, args[0]))
					os.Mkdir(cdir, 0o700)
					statePath := filepath.Join(cdir, "state.db")
					if err := os.WriteFile(statePath, damaged, 0o600); err != nil {
						rs = append(rs, result{i: i, what: what, cmd: args[0], out: other, why: err.Error()})
						continue
					}
					cfgPath := filepath.Join(cdir, "tilesyncd.yaml")
					cfg := fmt.Sprintf("mapbox:\n  username: acme\n  api_url: %s\n  s3_endpoint: %s\nstate:\n  path: %s\ncontrol:\n  listen: \"off\"\nwatch:\n  - path: %s\nrules:\n  - match: \"*.geojson\"\n",
						srv.URL(), s3.Endpoint(), statePath, drop)
					os.WriteFile(cfgPath, []byte(cfg), 0o600)
					out, took, why := runDamaged(bin, append(args, "--config", cfgPath), statePath)
					rs = append(rs, result{i, what, args[0], out, took, why})
					os.RemoveAll(cdir)
				}
				return rs
			}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	tally := map[string]map[outcome]int{}
	var slowest time.Duration
	for rs := range results {
		for _, r := range rs {
			if tally[r.cmd] == nil {
				tally[r.cmd] = map[outcome]int{}
			}
			tally[r.cmd][r.out]++
			slowest = max(slowest, r.took)
			if r.out != refused && r.out != opened {
				t.Errorf("corruption %d (%s; replay: TILESYNCD_CORRUPT_SEED=%d TILESYNCD_CORRUPT_ONLY=%d): %s %s after %s:\n%s",
					r.i, r.what, seed, r.i, r.cmd, r.out, r.took.Round(time.Millisecond), tail(r.why, 1500))
			}
		}
	}
	for _, cmd := range []string{"run", "sync", "status"} {
		c := tally[cmd]
		t.Logf("campaign %s: %d refused, %d opened fine (undamaged where it matters), %d crashed, %d hung, %d other",
			cmd, c[refused], c[opened], c[crashed], c[hung], c[other])
	}
	t.Logf("campaign: %d corruptions x %d commands in %s, slowest command %s",
		count, len(commands), time.Since(start).Round(time.Millisecond), slowest.Round(time.Millisecond))
}

// runDamaged runs the binary on a damaged state file and classifies what it
// did. A command that opens the file (its debug log says "state opened", or
// status exits 0) is stopped with SIGTERM and must then exit cleanly.
func runDamaged(bin string, args []string, statePath string) (outcome, time.Duration, string) {
	ctx, cancel := context.WithTimeout(context.Background(), campaignLimit)
	defer cancel()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout bytes.Buffer
	stderr := &watchBuffer{want: []byte(`"msg":"state opened"`), seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return other, 0, err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killGroup := func(sig syscall.Signal) { syscall.Kill(-cmd.Process.Pid, sig) }
	var err error
	stopped := false
	select {
	case err = <-done:
	case <-stderr.seen:
		killGroup(syscall.SIGTERM)
		stopped = true
		select {
		case err = <-done:
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	took := time.Since(start)
	if ctx.Err() != nil && cmd.ProcessState == nil {
		killGroup(syscall.SIGKILL)
		<-done
		return hung, took, stderr.String()
	}
	killGroup(syscall.SIGKILL) // a check process left behind, if any
	text := stderr.String() + stdout.String()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && !(stopped && ws.Signal() == syscall.SIGTERM) {
			return crashed, took, fmt.Sprintf("killed by %s\n%s", ws.Signal(), text)
		}
	}
	if loc := goCrash.FindStringIndex(text); loc != nil {
		return crashed, took, text[loc[0]:min(len(text), loc[0]+1500)]
	}
	switch {
	case stopped: // stopped early, `sync --once` exits 1: opened, and no crash
		return opened, took, text
	case args[0] == "status" && err == nil:
		return opened, took, text
	case err != nil && strings.Contains(text, statePath+" is damaged") && strings.Contains(text, "move it aside"):
		return refused, took, text
	}
	return other, took, fmt.Sprintf("exit %v\n%s", err, text)
}

// goCrash matches the Go runtime's report of a panic or a fatal error.
var goCrash = regexp.MustCompile(`(?m)^(panic: |fatal error: |\[signal |unexpected fault address|goroutine \d+ \[)`)

// watchBuffer collects output and closes seen when want appears in it.
type watchBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want []byte
	seen chan struct{}
	hit  bool
}

func (b *watchBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if !b.hit && bytes.Contains(b.buf.Bytes(), b.want) {
		b.hit = true
		close(b.seen)
	}
	return len(p), nil
}

func (b *watchBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// fillCampaignState makes a database as a daemon leaves it: file records
// (enough for branch pages), jobs in every stage, tileset records and history.
func fillCampaignState(t *testing.T, path string) {
	t.Helper()
	s, err := state.Open(path, state.Options{AllowNetworkFS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const watch = "/srv/drop"
	recs := make([]state.FileRecord, 0, 1000)
	for i := range 3000 {
		recs = append(recs, state.FileRecord{
			Key:  state.FileKey{Watch: watch, Path: fmt.Sprintf("d%02d/file-%05d.geojson", i%17, i)},
			Size: int64(1000 + i), ModTime: int64(i) * 1e9, SHA256: fmt.Sprintf("%064x", i*7919),
			Tileset: fmt.Sprintf("acme.t%03d", i%300), Outcome: state.OutcomeUnchanged,
		})
		if len(recs) == cap(recs) {
			if err := s.PutFiles(recs); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 240 {
		ts := fmt.Sprintf("acme.t%03d", i)
		res, err := s.Enqueue(state.NewJob{Tileset: ts, Name: ts, Source: state.FileKey{Watch: watch, Path: fmt.Sprintf("j%03d.geojson", i)},
			SHA256: fmt.Sprintf("%064x", i+1), Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		id := res.Job.ID
		steps := []func() (state.Job, error){
			func() (state.Job, error) {
				if _, err := s.StartStaging(id); err != nil {
					return state.Job{}, err
				}
				return s.SetCredentials(id, state.Credentials{Bucket: "staging", Key: fmt.Sprintf("k%d", i),
					URL: fmt.Sprintf("s3://staging/k%d", i), AccessKeyID: "AKIA", SecretAccessKey: "secret", SessionToken: "token", FetchedAt: at})
			},
			func() (state.Job, error) { return s.MarkStaged(id, fmt.Sprintf("%064x", i+1)) },
			func() (state.Job, error) { return s.Created(id, fmt.Sprintf("upload-%d", i), at) },
			func() (state.Job, error) { return s.Done(id) },
		}
		for _, step := range steps[:i%5] {
			if _, err := step(); err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		if i%10 == 1 {
			if _, err := s.Fail(id, "Tileset is empty."); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
