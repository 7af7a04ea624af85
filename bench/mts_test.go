package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/convert"
	"github.com/tilesyncd/tilesyncd/examples"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// Figures 11a and 11c of issue 16 (the Mapbox Tiling Service): converting
// a large FeatureCollection, and publishing 50 changing files under
// Mapbox's 2 publishes a minute.

// mtsAppendFeature appends feature i of a generated collection: a point, a
// line of 8 to 23 positions or a closed ring of 6 to 17, by turns; a
// numeric id for even i, a string one for odd; a name, a kind, a value, a
// rank and a flag as properties. r gives the positions and values.
func mtsAppendFeature(b []byte, r *rand.Rand, i int) []byte {
	lon, lat := r.Float64()*340-170, r.Float64()*160-80
	pos := func(k int, dx, dy float64) {
		if k > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(append(b, '['), lon+dx, 'f', 6, 64)
		b = append(strconv.AppendFloat(append(b, ','), lat+dy, 'f', 6, 64), ']')
	}
	id := strconv.Itoa(i)
	if i%2 == 1 {
		id = `"f-` + id + `"`
	}
	b = fmt.Appendf(b, `{"type":"Feature","id":%s,"geometry":{"type":"%s","coordinates":`, id, [...]string{"Point", "LineString", "Polygon"}[i%3])
	switch i % 3 {
	case 0:
		pos(0, 0, 0)
	case 1:
		b = append(b, '[')
		for k := range 8 + r.IntN(16) {
			pos(k, float64(k)*0.01, r.Float64()*0.01)
		}
		b = append(b, ']')
	default:
		n := 6 + r.IntN(12)
		b = append(b, "[["...)
		for k := range n + 1 { // the last position closes the ring
			a := 2 * math.Pi * float64(k%n) / float64(n)
			pos(k, 0.05*math.Cos(a), 0.05*math.Sin(a))
		}
		b = append(b, "]]"...)
	}
	kind := [...]string{"park", "road", "river", "école", "station"}[i%5]
	return fmt.Appendf(b, `},"properties":{"name":"feature %d","kind":%q,"value":%.3f,"rank":%d,"open":%t}}`,
		i, kind, r.Float64()*1000, r.IntN(100), r.IntN(2) == 0)
}

// mtsCollection writes to w a FeatureCollection of at most size bytes (at
// least one feature): as many generated features as fit, one a line as
// GDAL writes them, the content a function of seed. It returns the bytes
// written and the number of features.
func mtsCollection(w io.Writer, size int64, seed uint64) (int64, int, error) {
	const head, tail = `{"type":"FeatureCollection","name":"bench","features":[` + "\n", "\n]}\n"
	r := rand.New(rand.NewPCG(seed, 0x6d7473))
	buf := []byte(head)
	var n int64
	count := 0
	for {
		mark := len(buf)
		if count > 0 {
			buf = append(buf, ",\n"...)
		}
		if buf = mtsAppendFeature(buf, r, count); count > 0 && n+int64(len(buf)+len(tail)) > size {
			buf = buf[:mark]
			break
		}
		if count++; len(buf) >= 1<<20 {
			if _, err := w.Write(buf); err != nil {
				return n, count, err
			}
			n, buf = n+int64(len(buf)), buf[:0]
		}
	}
	buf = append(buf, tail...)
	_, err := w.Write(buf)
	return n + int64(len(buf)), count, err
}

// mtsChildEnv names the file a re-executed copy of this binary converts.
const mtsChildEnv = "TILESYNCD_BENCH_MTS_CHILD"

// isMTSChild runs the conversion's child when this binary is one
// (TestMain asks): it converts and prints its mtsChildResult.
func isMTSChild() bool {
	path := os.Getenv(mtsChildEnv)
	if path != "" {
		mtsConvertChild(path)
	}
	return path != ""
}

// mtsChildResult is what the conversion child answers.
type mtsChildResult struct {
	Seconds          float64
	Features, PeakKB int64 // PeakKB: the child's VmHWM once the conversion ended
	Err              string
}

// mtsConvertChild converts path to io.Discard and prints the result.
func mtsConvertChild(path string) {
	var res mtsChildResult
	start := time.Now()
	st, err := convert.Convert(context.Background(), convert.Input{Path: path}, io.Discard)
	res.Seconds, res.Features = time.Since(start).Seconds(), st.Features
	if err != nil {
		res.Err = err.Error()
	}
	res.PeakKB = procStatus(os.Getpid(), "VmHWM")
	json.NewEncoder(os.Stdout).Encode(res)
}

// mtsConvertInChild runs the conversion of path in a child process.
func mtsConvertInChild(path string) (mtsChildResult, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), mtsChildEnv+"="+path)
	var r mtsChildResult
	out, err := cmd.Output()
	if err == nil {
		err = json.Unmarshal(out, &r)
	}
	if err == nil && r.Err != "" {
		err = errors.New(r.Err)
	}
	if err != nil {
		return r, fmt.Errorf("conversion child (said %q): %w", out, err)
	}
	return r, nil
}

// mtsPlainDecode reads a FeatureCollection as a plain streaming reader
// would: json.Decoder's tokens up to the features array, then each
// feature into a json.RawMessage. It returns the number of features.
func mtsPlainDecode(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for tok := json.Token(nil); tok != "features"; {
		if tok, err = dec.Token(); err != nil {
			return 0, err
		}
	}
	if _, err := dec.Token(); err != nil { // [
		return 0, err
	}
	n := 0
	var raw json.RawMessage
	for ; dec.More(); n++ {
		if err := dec.Decode(&raw); err != nil {
			return n, err
		}
	}
	return n, nil
}

// BenchmarkMTSConvert measures figure 11a: convert.Convert of a generated
// FeatureCollection of 1 GB (10^9 bytes, the largest GeoJSON file Mapbox
// takes; 64 MB under -short) to line-delimited GeoJSON written to
// io.Discard, in a child process whose peak resident memory (VmHWM, the
// whole process) it reports at its end, so that neither the generator nor
// the decoder counts; beside it, in this process, a plain streaming
// json.Decoder read of the same file (each feature into a
// json.RawMessage: the floor of any reader that decodes the features).
// Both read the file from the page cache; best of two each, alternating;
// MB = 10^6 bytes.
func BenchmarkMTSConvert(b *testing.B) {
	size, label := int64(1e9), "1.0 GB"
	if short() {
		size, label = 64e6, "64 MB"
	}
	path := filepath.Join(b.TempDir(), "collection.geojson")
	file, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(path)
	w := bufio.NewWriterSize(file, 1<<20)
	n, count, err := mtsCollection(w, size, 1)
	if err = errors.Join(err, w.Flush(), file.Close()); err != nil {
		b.Fatal(err)
	}
	var tConv, tDecode time.Duration
	var peakKB int64
	for range 2 {
		r, err := mtsConvertInChild(path)
		if err != nil || r.Features != int64(count) {
			b.Fatalf("conversion: %d features of %d, %v", r.Features, count, err)
		}
		if d := time.Duration(r.Seconds * float64(time.Second)); tConv == 0 || d < tConv {
			tConv = d
		}
		peakKB = max(peakKB, r.PeakKB)
		start := time.Now()
		if got, err := mtsPlainDecode(path); err != nil || got != count {
			b.Fatalf("plain decode: %d features of %d, %v", got, count, err)
		}
		if d := time.Since(start); tDecode == 0 || d < tDecode {
			tDecode = d
		}
	}
	conv, dec := float64(n)/1e6/tConv.Seconds(), float64(n)/1e6/tDecode.Seconds()
	peakMB := float64(peakKB) / 1024
	line("11a. MTS conversion of a %s FeatureCollection (%d features): %.0f MB/s, peak resident %.1f MB — plain streaming decode of the same file: %.0f MB/s (%.0f/%.0f = %.2f); target peak ≤ 100 MB: %s",
		label, count, conv, peakMB, dec, conv, dec, conv/dec, verdict(peakMB <= 100))
	b.ReportMetric(conv, "convert-MB/s")
	b.ReportMetric(dec, "decode-MB/s")
	b.ReportMetric(peakMB, "peak-MB")
}

// mtsScale divides every time of figure 11c: 2 publishes a minute become 20.
const mtsScale = 10

// mtsPublishEnv is a simulator with MTS's limits and job times scaled (10 s
// queued, a minute processing), a drop folder, and a configuration of one
// MTS rule sending each file to a tileset of its own
// ("{username}.p-{stem}", the demo's recipe, one layer named after the
// file), in notify mode: a 1 s settle, 30 requests and 2 publishes a
// minute, all scaled.
func mtsPublishEnv(b *testing.B) *testenv.Env {
	limits := map[mapbox.Endpoint]int{}
	for ep, n := range mapbox.MTSRateLimits {
		limits[ep] = n * mtsScale
	}
	env := testenv.New(b, testenv.Options{Sim: mapboxsim.Options{MTS: mapboxsim.MTSOptions{
		QueueTime: 10 * time.Second / mtsScale, ProcessingTime: time.Minute / mtsScale, RateLimits: limits}}})
	recipe, err := fs.ReadFile(examples.Recipes, "recipes/cycling.json")
	if err == nil {
		err = os.WriteFile(filepath.Join(env.Dir, "recipe.json"), recipe, 0o644)
	}
	if err != nil {
		b.Fatal(err)
	}
	env.WriteConfig(fmt.Sprintf(`mapbox:
  username: acme
  api_url: %s
  s3_endpoint: %s
  requests_per_minute: %d
  publishes_per_minute: %d
state:
  path: %s
control:
  listen: "off"
watch:
  - path: %s
    mode: notify
    settle: %s
rules:
  - match: "*.geojson"
    target: mts
    tileset: "{username}.p-{stem}"
    recipe: recipe.json
    layer: "{stem}"
`, env.Srv.URL(), env.Storage.Endpoint(), 30*mtsScale, 2*mtsScale, env.StatePath, env.Drop, time.Second/mtsScale))
	return env
}

// mtsFiles are figure 11c's files and every content written to them.
type mtsFiles struct {
	b        *testing.B
	env      *testenv.Env
	rng      *rand.Rand
	contents [][]mtsContent // per file, in the order written
	written  int            // contents written in all: each one's seed
	changes  int            // edits after the first content
	during   int            // edits while the file's publish job was queued or processing
}

// mtsContent is one content of a file: the SHA-256 of what it converts
// to, and when it was put in place.
type mtsContent struct {
	sha string
	at  time.Time
}

func mtsName(i int) string    { return fmt.Sprintf("f%02d", i) }
func mtsTileset(i int) string { return "acme.p-" + mtsName(i) }

// write gives file i a new content, a collection of a few dozen features
// never written before, put in place by a rename.
func (f *mtsFiles) write(i int) {
	f.b.Helper()
	var buf bytes.Buffer
	f.written++
	mtsCollection(&buf, 8<<10, uint64(f.written)) // a bytes.Buffer takes every write
	p := filepath.Join(f.env.Drop, mtsName(i)+".geojson")
	if err := os.WriteFile(p+".tmp", buf.Bytes(), 0o644); err != nil { // *.tmp: ignored by the watcher
		f.b.Fatal(err)
	}
	st, err := convert.Convert(context.Background(), convert.Input{Path: p + ".tmp", Kind: convert.GeoJSON}, io.Discard)
	if err == nil {
		err = os.Rename(p+".tmp", p)
	}
	if err != nil {
		f.b.Fatal(err)
	}
	if len(f.contents[i]) > 0 {
		f.changes++
		if mtsActivity(f.env.Srv)[mtsTileset(i)].active {
			f.during++
		}
	}
	f.contents[i] = append(f.contents[i], mtsContent{sha: st.SHA256, at: time.Now()})
}

// mtsState is what the simulator's jobs say of one tileset.
type mtsState struct{ active, published bool }

func mtsActivity(srv *mapboxsim.Server) map[string]mtsState {
	out := map[string]mtsState{}
	for _, j := range srv.MTSJobs() {
		out[j.Tileset] = mtsState{active: out[j.Tileset].active || !j.Stage.Done(), published: true}
	}
	return out
}

// mtsPlan is the shape of figure 11c's run: each of the rounds edits up to
// active files whose publish job is queued or processing at the simulator
// (two or three times), pending ones not published yet (once or twice),
// and done ones, published with no job running (once).
type mtsPlan struct{ files, rounds, active, pending, done int }

// round edits files as the plan says, chosen by what the simulator's jobs
// show now, in three passes three settle times apart (the pauses are the
// scenario, not waits for an event).
func (f *mtsFiles) round(p mtsPlan) {
	act := mtsActivity(f.env.Srv)
	var active, pending, done []int
	for _, i := range f.rng.Perm(p.files) {
		switch s := act[mtsTileset(i)]; {
		case s.active && len(active) < p.active:
			active = append(active, i)
		case !s.published && len(pending) < p.pending:
			pending = append(pending, i)
		case s.published && !s.active && len(done) < p.done:
			done = append(done, i)
		}
	}
	passes := [][]int{slices.Concat(active, pending, done), slices.Concat(active, pending[:len(pending)/2]), active[:(len(active)+1)/2]}
	for k, pass := range passes {
		if k > 0 {
			time.Sleep(3 * time.Second / mtsScale)
		}
		for _, i := range pass {
			f.write(i)
		}
	}
}

// mtsOutcome is what the simulator's record says of the run.
type mtsOutcome struct {
	publishes, tooMany int
	overlaps, excess   int // publishes while a job of the tileset ran; tilesets with more publishes than contents
	needless           int // successive jobs of a tileset built from the same bytes
	stale              int // jobs built from a content replaced in the folder well before their publish
	busiest            int // publishes in the busiest minute / mtsScale
}

// mtsJudge reads the simulator's record: the jobs publishes made, per
// tileset in creation order, against the contents each file had.
func mtsJudge(b *testing.B, env *testenv.Env, contents [][]mtsContent) mtsOutcome {
	o := mtsOutcome{tooMany: (&setup{env}).status(429)}
	byTileset := map[string][]mapboxsim.MTSJobRecord{}
	for _, j := range env.Srv.MTSJobs() {
		byTileset[j.Tileset] = append(byTileset[j.Tileset], j)
		o.publishes++
	}
	stamp := func(t time.Time) string { return t.Format(time.StampMilli) }
	const staleAfter = 5 * time.Second / mtsScale // the settle and the conversion, widely
	for i, cs := range contents {
		ts, jobs := mtsTileset(i), byTileset[mtsTileset(i)]
		if len(jobs) > len(cs) {
			o.excess++
			b.Logf("%s: %d publishes for %d contents", ts, len(jobs), len(cs))
		}
		for k, j := range jobs {
			if n := slices.IndexFunc(cs, func(c mtsContent) bool { return c.sha == j.SHA256 }); n >= 0 && n+1 < len(cs) && cs[n+1].at.Add(staleAfter).Before(j.Created) {
				o.stale++
				b.Logf("%s: job %s, published at %s, built content %d of %d, replaced at %s", ts, j.ID, stamp(j.Created), n+1, len(cs), stamp(cs[n+1].at))
			}
			if prev := jobs[max(k-1, 0)]; k > 0 && (prev.Finished.IsZero() || j.Created.Before(prev.Finished)) {
				o.overlaps++
				b.Logf("%s: job %s published at %s while job %s ran (%s, ended %s)", ts, j.ID, stamp(j.Created), prev.ID, prev.Stage, stamp(prev.Finished))
			}
		}
		hist := env.Srv.MTSHistory(ts)
		for k := 1; k < len(hist); k++ {
			if hist[k].SHA256 == hist[k-1].SHA256 {
				o.needless++
				b.Logf("%s: needless publish: job %s built what job %s had built", ts, hist[k].ID, hist[k-1].ID)
			}
		}
	}
	var at []time.Time
	for _, q := range env.Srv.Requests() {
		if q.Endpoint == mapbox.EndpointPublish || q.Endpoint == mapbox.EndpointPublishChanges {
			at = append(at, q.Time)
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for lo, hi := 0, 0; hi < len(at); hi++ {
		for at[hi].Sub(at[lo]) >= time.Minute/mtsScale {
			lo++
		}
		o.busiest = max(o.busiest, hi-lo+1)
	}
	return o
}

// converged reports whether each file's tileset holds a job built from
// the converted bytes of the file's last content.
func (f *mtsFiles) converged() bool {
	for i, cs := range f.contents {
		if j, ok := f.env.Srv.HoldsMTS(mtsTileset(i)); !ok || j.SHA256 != cs[len(cs)-1].sha {
			return false
		}
	}
	return true
}

// BenchmarkMTSPublish measures figure 11c: 50 files (8 under -short), each
// an MTS tileset of its own, changing in rounds while the daemon (Run,
// notify mode, production settings but for the times mtsScale divides)
// publishes them under Mapbox's 2 publishes a minute, against the
// simulator's MTS: the 429s of every endpoint, publishes against changes,
// and whether once quiet each tileset's last successful job was built from
// its file's last content. The simulator's MTS windows are a minute long
// whatever its options, so the scaled publish limit is 20 a minute (every
// MTS limit ten times its own), which the daemon learns from the answers'
// headers; the busiest 6 s of publishes is reported beside, as a limit of
// 2 in 6 s would count them.
func BenchmarkMTSPublish(b *testing.B) {
	p := mtsPlan{files: 50, rounds: 4, active: 3, pending: 2, done: 1}
	if short() {
		p = mtsPlan{files: 8, rounds: 2, active: 2, pending: 1, done: 0}
	}
	env := mtsPublishEnv(b)
	f := &mtsFiles{b: b, env: env, rng: rand.New(rand.NewPCG(11, 3)), contents: make([][]mtsContent, p.files)}
	for i := range p.files {
		f.write(i)
	}
	d := (&setup{env}).open(b, mtsScale, env.Logger())
	ctx, cancel := context.WithCancel(context.Background())
	start, done := time.Now(), make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
		d.Close()
	}()
	for r := 1; r <= p.rounds; r++ {
		want := r * p.files / (p.rounds + 1)
		testkit.WaitFor(b, fmt.Sprintf("%d publishes before round %d", want, r), 10*time.Minute, func() bool { return len(env.Srv.MTSJobs()) >= want })
		f.round(p)
	}
	converged := false
	for deadline := time.Now().Add(10 * time.Minute); !converged && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond) // polling the simulator's record, with a deadline
		idle, err := d.Syncer().Idle()
		converged = err == nil && idle && f.converged()
	}
	took := time.Since(start)
	o := mtsJudge(b, env, f.contents)
	line("11c. MTS: %d files, %d changes in %d rounds (%d while the file's publish job was queued or processing), publishes %d (≤ one per tileset per job run: %s; %d of a content already replaced in the folder), 429s %d (target 0: %s), all converged: %s (time scale ×%d: the simulator allows %d publishes a minute, jobs queue %v and process %v; at most %d publishes in any %v, the scaled limit being 2; %.1f scaled minutes)",
		p.files, f.changes, p.rounds, f.during, o.publishes, verdict(o.overlaps == 0 && o.excess == 0 && o.needless == 0), o.stale, o.tooMany, verdict(o.tooMany == 0), map[bool]string{true: "yes", false: "no"}[converged],
		mtsScale, 2*mtsScale, 10*time.Second/mtsScale, time.Minute/mtsScale, o.busiest, time.Minute/mtsScale, took.Minutes()*mtsScale)
	b.ReportMetric(float64(o.publishes), "publishes")
	b.ReportMetric(float64(f.changes), "changes")
	b.ReportMetric(float64(o.tooMany), "429s")
}
