package fleettest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// books records every version of every file a scenario writes, in any
// folder, by the tileset it goes to, and judges the simulator's record
// against them. Safe for concurrent use.
type books struct {
	mu       sync.Mutex
	tilesets map[string]*written
}

type written struct {
	versions map[string]bool // SHA-256 of every content ever written
	final    string          // of the content now
}

func newBooks() *books { return &books{tilesets: map[string]*written{}} }

// write writes data to dir/rel, going to tileset, and records it.
func (b *books) write(dir, rel, tileset string, data []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	b.mu.Lock()
	w := b.tilesets[tileset]
	if w == nil {
		w = &written{versions: map[string]bool{}}
		b.tilesets[tileset] = w
	}
	w.versions[hex.EncodeToString(sum[:])] = true
	w.final = hex.EncodeToString(sum[:])
	b.mu.Unlock()
	// Written to a temporary name and renamed: a node never reads half a file.
	tmp := filepath.Join(filepath.Dir(p), ".tmp-"+filepath.Base(p))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// verdict is a scenario's result, from the simulator's record.
type verdict struct {
	Files, Uploaded, Duplicates, Lost, Torn int
	Missing                                 []string // tilesets that do not hold their file's bytes
}

func (v verdict) ok() bool { return v.Duplicates == 0 && v.Lost == 0 && v.Torn == 0 }

func (v verdict) String() string {
	return fmt.Sprintf("files %d / uploaded %d / duplicates %d / lost %d / torn %d", v.Files, v.Uploaded, v.Duplicates, v.Lost, v.Torn)
}

// judge compares the simulator's uploads and what each tileset holds with
// the books: an upload repeating a (tileset, content) pair is a duplicate,
// one of bytes never written for its tileset is torn, a tileset that does
// not hold its file's bytes now is lost.
func (b *books) judge(srv *mapboxsim.Server) verdict {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := verdict{Files: len(b.tilesets)}
	seen := map[[2]string]int{}
	for _, u := range srv.Uploads() {
		w := b.tilesets[u.Tileset]
		if w == nil || !w.versions[u.SHA256] {
			v.Torn++
			continue
		}
		k := [2]string{u.Tileset, u.SHA256}
		if seen[k]++; seen[k] == 1 {
			v.Uploaded++
		} else {
			v.Duplicates++
		}
	}
	for ts, w := range b.tilesets {
		if h, ok := srv.Holds(ts); !ok || h.SHA256 != w.final {
			v.Lost++
			v.Missing = append(v.Missing, ts)
		}
	}
	sort.Strings(v.Missing)
	return v
}

// duplicates lists the (tileset, content) pairs created more than once.
func duplicates(srv *mapboxsim.Server) []string {
	seen := map[string]int{}
	var out []string
	for _, u := range srv.Uploads() {
		k := u.Tileset + " " + short(u.SHA256)
		if seen[k]++; seen[k] == 2 {
			out = append(out, k)
		}
	}
	return out
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// content is a GeoJSON file of about size bytes, unique to (stem, version).
func content(stem string, version, size int) []byte {
	head := fmt.Sprintf(`{"type":"FeatureCollection","features":[],"name":%q,"version":%d,"pad":"`, stem, version)
	var buf bytes.Buffer
	buf.WriteString(head)
	buf.WriteString(strings.Repeat(string(rune('a'+version%26)), max(size-len(head)-2, 0)))
	buf.WriteString(`"}`)
	return buf.Bytes()
}
