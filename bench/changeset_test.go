package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/convert/changeset"
)

// changesetChildEnv holds the job (JSON) of a re-executed copy of this
// binary that runs one changeset.Diff.
const changesetChildEnv = "TILESYNCD_BENCH_CHANGESET_CHILD"

// isChangesetChild runs the diff's child when this binary is one (TestMain
// asks): it diffs and prints its changesetChildResult.
func isChangesetChild() bool {
	spec := os.Getenv(changesetChildEnv)
	if spec != "" {
		changesetChild(spec)
	}
	return spec != ""
}

// changesetJob is what the parent hands the child.
type changesetJob struct {
	OldIndex, Converted, Out, NewIndex string
}

// changesetChildResult is what the child answers.
type changesetChildResult struct {
	Seconds  float64
	Result   changeset.Result
	PeakHeap uint64 // the most heap objects' bytes seen (sampled every 2 ms)
	PeakKB   int64  // the child's VmHWM once the diff ended
	Err      string
}

func changesetChild(spec string) {
	var job changesetJob
	var res changesetChildResult
	err := json.Unmarshal([]byte(spec), &job)
	if err == nil {
		stop := make(chan struct{})
		peak := make(chan uint64)
		go changesetSampleHeap(stop, peak)
		var out *os.File
		if out, err = os.Create(job.Out); err == nil {
			start := time.Now()
			w := bufio.NewWriter(out)
			res.Result, err = changeset.Diff(context.Background(), job.OldIndex, job.Converted, w, job.NewIndex, changeset.DefaultMaxShare)
			err = errors.Join(err, w.Flush(), out.Close())
			res.Seconds = time.Since(start).Seconds()
		}
		close(stop)
		res.PeakHeap = <-peak
	}
	if err != nil {
		res.Err = err.Error()
	}
	res.PeakKB = procStatus(os.Getpid(), "VmHWM")
	json.NewEncoder(os.Stdout).Encode(res)
}

// changesetSampleHeap sends the largest heap (bytes of objects, live or
// not yet swept) it sees until stop closes.
func changesetSampleHeap(stop chan struct{}, peak chan<- uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var most uint64
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(s)
		most = max(most, s[0].Value.Uint64())
		select {
		case <-stop:
			peak <- most
			return
		case <-t.C:
		}
	}
}

// changesetDiffInChild runs one Diff in a child process.
func changesetDiffInChild(job changesetJob) (changesetChildResult, error) {
	spec, _ := json.Marshal(job)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), changesetChildEnv+"="+string(spec))
	var r changesetChildResult
	out, err := cmd.Output()
	if err == nil {
		err = json.Unmarshal(out, &r)
	}
	if err == nil && r.Err != "" {
		err = errors.New(r.Err)
	}
	if err != nil {
		return r, fmt.Errorf("diff child (said %q): %w", out, err)
	}
	return r, nil
}

// changesetFeature appends feature i's line (version v of its properties).
func changesetFeature(buf []byte, r *rand.Rand, i, v int) []byte {
	buf = append(buf, `{"type":"Feature","id":`...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, `,"geometry":{"type":"Point","coordinates":[`...)
	buf = strconv.AppendFloat(buf, r.Float64()*360-180, 'f', 6, 64)
	buf = append(buf, ',')
	buf = strconv.AppendFloat(buf, r.Float64()*180-90, 'f', 6, 64)
	buf = append(buf, `]},"properties":{"name":"feature `...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, `","kind":"tree","height":`...)
	buf = strconv.AppendInt(buf, int64(r.IntN(40)), 10)
	buf = append(buf, `,"version":`...)
	buf = strconv.AppendInt(buf, int64(v), 10)
	return append(buf, "}}\n"...)
}

// changesetVersions writes two versions of n features: the second has
// 0.4 % of them changed, 0.3 % removed and 0.3 % added (1 % in all). It
// returns the second's size and the counts expected.
func changesetVersions(b *testing.B, oldPath, newPath string, n int) (int64, changeset.Result) {
	b.Helper()
	want := changeset.Result{Features: n}
	var size int64
	for v, path := range []string{oldPath, newPath} {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		r := rand.New(rand.NewPCG(1, 2)) // the same points in both
		var buf []byte
		for i := range n {
			version := 0
			if v == 1 {
				switch i % 1000 {
				case 0, 1, 2, 3:
					version, want.Changed = 1, want.Changed+1
				case 4, 5, 6:
					want.Removed++
					r.Float64() // keep the generator in step
					r.Float64()
					r.IntN(40)
					continue
				default:
					want.Unchanged++
				}
			}
			buf = changesetFeature(buf[:0], r, i, version)
			w.Write(buf)
		}
		if v == 1 {
			for i := range want.Removed {
				buf = changesetFeature(buf[:0], r, n+i, 0)
				w.Write(buf)
			}
			want.Added = want.Removed
		}
		if err := errors.Join(w.Flush(), f.Close()); err != nil {
			b.Fatal(err)
		}
		if st, err := os.Stat(path); err == nil {
			size = st.Size()
		}
	}
	return size, want
}

// BenchmarkChangeset measures figure 11b: changeset.Diff of a version of
// 1,000,000 features (100,000 under -short) of which 1 % changed (0.4 %
// changed, 0.3 % removed, 0.3 % added) against the index of the version
// before, in a child process that reports the most heap it saw (sampled
// every 2 ms) and its VmHWM, and the size of the index it leaves for the
// state folder; beside it, in this process, changeset.Build
// of the same file (what a full publish needs: reading and indexing it).
// Both from the page cache, best of two each; MB = 10^6 bytes.
func BenchmarkChangeset(b *testing.B) {
	n := 1_000_000
	if short() {
		n = 100_000
	}
	dir := b.TempDir()
	oldPath, newPath := filepath.Join(dir, "v1.ldgeojson"), filepath.Join(dir, "v2.ldgeojson")
	size, want := changesetVersions(b, oldPath, newPath, n)
	ctx := context.Background()
	oldIdx := filepath.Join(dir, "v1.idx")
	if _, err := changeset.Build(ctx, oldPath, oldIdx); err != nil {
		b.Fatal(err)
	}
	tBuild := best(b, func() error {
		_, err := changeset.Build(ctx, newPath, filepath.Join(dir, "built.idx"))
		return err
	})
	var res changesetChildResult
	var tDiff time.Duration
	for range 2 { // the child's own clock: the parent's would add the child's start
		r, err := changesetDiffInChild(changesetJob{OldIndex: oldIdx, Converted: newPath,
			Out: filepath.Join(dir, "changeset.ldgeojson"), NewIndex: filepath.Join(dir, "v2.idx")})
		if err != nil {
			b.Fatal(err)
		}
		if d := time.Duration(r.Seconds * float64(time.Second)); tDiff == 0 || d < tDiff {
			tDiff = d
		}
		res.PeakHeap, res.PeakKB, res.Result = max(res.PeakHeap, r.PeakHeap), max(res.PeakKB, r.PeakKB), r.Result
	}
	got := res.Result
	got.Bytes = 0
	if got != want {
		b.Fatalf("diff: %+v, want %+v", res.Result, want)
	}
	mb := func(n int64) float64 { return float64(n) / 1e6 }
	var indexSize int64
	if st, err := os.Stat(filepath.Join(dir, "v2.idx")); err == nil {
		indexSize = st.Size()
	}
	heapMB, residentMB := mb(int64(res.PeakHeap)), float64(res.PeakKB)/1024
	line("11b. incremental: 1%% of %s features changed → changeset %.1f MB = %.2f %% of the source's %.0f MB; diff in %.2f s, peak heap %.0f MB (resident %.0f MB, the child's VmHWM); index kept %.0f MB (baseline: Build of the same file, %.2f s); target heap ≤ 100 MB: %s",
		changesetThousands(n), mb(res.Result.Bytes), 100*float64(res.Result.Bytes)/float64(size), mb(size),
		tDiff.Seconds(), heapMB, residentMB, mb(indexSize), tBuild.Seconds(), verdict(heapMB <= 100))
	b.ReportMetric(tDiff.Seconds(), "diff-s")
	b.ReportMetric(heapMB, "peak-heap-MB")
	b.ReportMetric(100*float64(res.Result.Bytes)/float64(size), "changeset-%")
}

// changesetThousands prints n with commas: 1,000,000.
func changesetThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
