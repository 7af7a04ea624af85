package convergence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// runner plays a history's steps on a world and keeps the timeline of what
// the folders held after each of them.
type runner struct {
	w     *world
	h     *history
	start time.Time
	cur   []placed        // each slot's place and content now (present or not)
	tl    timeline        // what the folders held, observed after every change
	touch time.Time       // when a file was last changed
	began []time.Duration // when each step began, from start
	// recipes are the rendered recipes each MTS tileset has had, by
	// tileset (runner.mtsFile).
	recipes map[string][]string
}

// placed is a slot's file: where, which bytes, and whether it is there.
type placed struct {
	present bool
	at      loc
	content content
	partial string // set while a slow copy or a part-by-part write is under way
}

func newRunner(w *world, h *history) *runner {
	return &runner{w: w, h: h, cur: make([]placed, len(h.kinds)), recipes: map[string][]string{}}
}

// run starts the daemon (unless it starts late) and plays every step after
// its wait.
func (r *runner) run() {
	r.start = time.Now()
	if !r.h.lateStart {
		r.startDaemon()
	}
	r.observe()
	for _, s := range r.h.steps {
		time.Sleep(s.wait) // the history's own pacing, not a wait for an event
		r.began = append(r.began, time.Since(r.start))
		r.apply(s)
	}
	time.Sleep(r.h.tail) // the faults still in force have their effect

}

func (r *runner) startDaemon() {
	if r.h.binary {
		r.w.spawn()
	} else {
		r.w.startInproc()
	}
}

// apply performs one step of the history. It is long because it is one case
// per kind of step.
func (r *runner) apply(s step) {
	t := r.w.t
	t.Helper()
	w := r.w
	switch s.op {
	case opCreate, opWrite:
		at := s.to
		if s.op == opWrite {
			at = s.from
		}
		r.cur[s.slot] = placed{present: true, at: at, content: r.cur[s.slot].content}
		r.write(s.slot, at, s)
	case opAppend:
		r.cur[s.slot].content = s.content
		f, err := os.OpenFile(w.abs(watchNames[s.from.watch], s.from.rel()), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		_, err = f.Write(appendBytes(s.slot, s.content.a))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		r.changed()
	case opMove:
		for i, part := range r.files(s.slot, s.from) {
			if i > 0 && s.gap > 0 {
				time.Sleep(s.gap) // a shapefile's parts move one by one
				r.changed()
			}
			ext := part.ext // a shapefile's parts keep theirs
			if r.h.kinds[s.slot] != shapefile {
				ext = s.to.ext
			}
			dst := r.pathOf(s.to, ext)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(part.path, dst); err != nil {
				t.Fatalf("move: %v", err)
			}
		}
		r.cur[s.slot].at = s.to
		r.changed()
	case opDelete:
		for _, part := range r.files(s.slot, s.from) {
			if err := os.Remove(part.path); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
		r.cur[s.slot].present = false
		r.changed()
	case opFailCreate:
		w.srv.FailNext(mapbox.EndpointCreate, 1, s.status)
	case opFailCreateAfter:
		w.srv.FailAfterNext(mapbox.EndpointCreate, 1, s.status)
	case opDrop:
		w.srv.DropNext(s.ep, s.n)
	case opDropAfter:
		w.srv.DropAfterNext(mapbox.EndpointCreate, 1)
	case opAPIDown, opAPIUp:
		w.srv.SetUnreachable(s.op == opAPIDown)
	case opS3Down, opS3Up:
		w.s3.SetCut(s.op == opS3Down)
	case opRateLimit:
		w.srv.RateLimitFor(s.gap)
	case opSlowAPI:
		w.srv.SetDelay(1500 * time.Millisecond) // the client waits one second
	case opFastAPI:
		w.srv.SetDelay(0)
	case opCorruptCreds:
		w.srv.CorruptNextCredentials(s.n)
	case opExpireCreds:
		w.store.ExpireCredentials()
	case opStart:
		r.startDaemon()
	case opRestart:
		w.stopInproc()
		w.startInproc()
	case opKill:
		w.kill()
	default:
		r.applyMTS(s)
	}
}

// part is one file on disk of a slot (a shapefile has three).
type part struct{ ext, path string }

func (r *runner) pathOf(l loc, ext string) string {
	return r.w.abs(watchNames[l.watch], filepath.ToSlash(filepath.Join(l.dir, l.stem+ext)))
}

func (r *runner) files(slot int, l loc) []part {
	if r.h.kinds[slot] != shapefile {
		return []part{{l.ext, r.pathOf(l, l.ext)}}
	}
	var out []part
	for _, ext := range shapefileParts {
		out = append(out, part{ext, r.pathOf(l, ext)})
	}
	return out
}

// write puts the step's content at l in the step's way.
func (r *runner) write(slot int, l loc, s step) {
	t := r.w.t
	if err := os.MkdirAll(filepath.Dir(r.pathOf(l, l.ext)), 0o755); err != nil {
		t.Fatal(err)
	}
	label := s.content.label(r.h.kinds[slot])
	switch s.mode {
	case writeParts:
		c := r.cur[slot].content
		for i, ext := range shapefileParts {
			if i > 0 && s.gap > 0 {
				time.Sleep(s.gap) // the parts are replaced one by one
			}
			c.v[i] = s.content.v[i]
			r.writeFile(r.pathOf(l, ext), partBytes(slot, ext, s.content.v[i]), func() { r.cur[slot].content = c })
		}
	case writeSlow:
		data := r.fileBytes(slot, s.content)
		f, err := os.OpenFile(r.pathOf(l, l.ext), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		r.cur[slot].partial = label + ", 0 bytes copied"
		r.changed()
		size := (len(data) + s.chunks - 1) / s.chunks
		for i := 0; i < len(data); i += size {
			if i > 0 {
				time.Sleep(s.gap) // a slow copy's pace
			}
			if _, err := f.Write(data[i:min(i+size, len(data))]); err != nil {
				t.Fatal(err)
			}
			if done := min(i+size, len(data)); done < len(data) {
				r.cur[slot].partial = fmt.Sprintf("%s, %d of %d bytes copied", label, done, len(data))
			} else {
				r.cur[slot].partial, r.cur[slot].content = "", s.content
			}
			r.changed()
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	case writeAtomic:
		p := r.pathOf(l, l.ext)
		if err := os.WriteFile(p+"~", r.fileBytes(slot, s.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+"~", p); err != nil {
			t.Fatal(err)
		}
		r.cur[slot].content = s.content
	default:
		r.writeFile(r.pathOf(l, l.ext), r.fileBytes(slot, s.content), func() { r.cur[slot].content = s.content })
	}
	r.changed()
}

// writeFile writes data over the file at p as os.WriteFile does, observing
// the folders between the truncation and the write: a writer descheduled
// there leaves an empty file for as long as it likes (an empty shapefile
// part still makes a shapefile), and the daemon may send that.
func (r *runner) writeFile(p string, data []byte, done func()) {
	t := r.w.t
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r.changed()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	done()
	r.changed()
}

// changed notes a change to the folders and observes them.
func (r *runner) changed() {
	r.touch = time.Now()
	r.observe()
}

// observe adds what the folders hold now to the timeline.
func (r *runner) observe() {
	files, err := r.scan()
	if err != nil {
		r.w.t.Fatalf("scan the folders: %v", err)
	}
	r.tl = append(r.tl, observation{at: time.Now(), files: files})
}

// who names the file at rel in watch for people, with the slot it is (-1
// if none: a file the runner did not write).
func (r *runner) who(watch int, rel string) (int, string) {
	for i, p := range r.cur {
		if p.present && p.at.watch == watch && p.at.rel() == rel {
			if p.partial != "" {
				return i, fmt.Sprintf("f%d %s", i, p.partial)
			}
			return i, fmt.Sprintf("f%d %s", i, p.content.label(r.h.kinds[i]))
		}
	}
	return -1, "?"
}

// scan reads every file of the watch folders that the rules send to a
// tileset, as plan decides it, with the SHA-256 of the bytes the daemon
// must send: the file's, or for a shapefile the zip of its parts that
// format.ZipShapefile makes (as the daemon does); for a file an MTS rule
// sends, what it converts to (runner.mtsFile).
func (r *runner) scan() ([]fileState, error) {
	var out []fileState
	for i, name := range watchNames {
		cw := r.w.watchOf(name)
		err := filepath.WalkDir(cw.Path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil // a folder moved away under the walk
				}
				return err
			}
			rel, _ := filepath.Rel(cw.Path, p)
			rel = filepath.ToSlash(rel)
			if rel == "." {
				return nil
			}
			if _, ignored := cw.Ignores(rel, d.IsDir()); ignored || d.IsDir() {
				if ignored && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			fi, err := os.Stat(p)
			if err != nil {
				return nil // gone under the walk
			}
			dir := filepath.Dir(p)
			dec := plan.Decide(r.w.cfg, cw, rel, p, fi.Size(), func(name string) bool {
				_, err := os.Stat(filepath.Join(dir, name))
				return err == nil
			})
			if dec.Action != plan.Upload {
				return nil
			}
			slot, label := r.who(i, rel)
			if dec.MTS != nil {
				if f, ok := r.mtsFile(p, dec); ok {
					f.watch, f.rel, f.slot, f.label = name, rel, slot, label
					out = append(out, f)
				}
				return nil
			}
			sum, err := contentSum(p)
			if err != nil {
				return nil // incomplete or gone under the walk
			}
			out = append(out, fileState{watch: name, rel: rel, tileset: dec.Tileset, sha: sum, slot: slot, label: label})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// contentSum is the SHA-256 of what the daemon sends for the file at p.
func contentSum(p string) (string, error) {
	h := sha256.New()
	if strings.EqualFold(filepath.Ext(p), ".shp") {
		if err := zipShapefile(p, h); err != nil {
			return "", err
		}
	} else {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// zipShapefile zips the shapefile whose .shp is shp as the daemon does.
func zipShapefile(shp string, w io.Writer) error {
	return format.ZipShapefile(context.Background(), shp, watcher.OpenRegular, w)
}

// --- the bytes -----------------------------------------------------------------

// geoBytes is the GeoJSON of slot with content c: unique to (slot, version),
// followed by its appends.
func geoBytes(slot int, c content) []byte {
	size := 600 + (slot*7919+c.v[0]*104729)%2400
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":"FeatureCollection","features":[],"slot":%d,"version":%d,"pad":"`, slot, c.v[0])
	for i := 0; b.Len() < size; i++ {
		b.WriteByte("abcdefghijklmnopqrstuvwxyz"[(i*7+c.v[0]+slot)%26])
	}
	b.WriteString("\"}\n")
	for a := 1; a <= c.a; a++ {
		b.Write(appendBytes(slot, a))
	}
	return []byte(b.String())
}

// appendBytes is the a-th append to a slot's file.
func appendBytes(slot, a int) []byte {
	return []byte(fmt.Sprintf(`{"appended":%d,"slot":%d,"pad":%q}`+"\n", a, slot, strings.Repeat("z", 100+a*37)))
}

// partBytes is a shapefile part of slot at version v.
func partBytes(slot int, ext string, v int) []byte {
	size := 200 + (slot*31+v*613+len(ext))%600
	var b strings.Builder
	fmt.Fprintf(&b, "%s slot %d version %d ", ext, slot, v)
	for i := 0; b.Len() < size; i++ {
		b.WriteByte("0123456789"[(i+v)%10])
	}
	return []byte(b.String())
}
