package chaos

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// Ledger records every version of every file a scenario writes into a drop
// folder, and the tileset each file goes to, so that the uploads the test
// server saw can be checked against what was written. Safe for concurrent use.
type Ledger struct {
	dir string

	mu    sync.Mutex
	files map[string]*entry // by path relative to dir
}

type entry struct {
	tileset  string
	versions map[string]bool // SHA-256 of every content ever written
	final    string          // SHA-256 of the content now; "" once deleted
}

// NewLedger keeps the books for the drop folder dir.
func NewLedger(dir string) *Ledger {
	return &Ledger{dir: dir, files: map[string]*entry{}}
}

// Sum is the hex SHA-256 of b.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Write writes data to rel (creating folders), records it as a version of
// the file and as its content now. The file goes to tileset.
func (l *Ledger) Write(rel, tileset string, data []byte) error {
	p := filepath.Join(l.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// Recorded first: a reader may see the bytes before WriteFile returns.
	l.record(rel, tileset, Sum(data))
	return os.WriteFile(p, data, 0o644)
}

// Append appends data to rel and records the new content.
func (l *Ledger) Append(rel string, data []byte) error {
	p := filepath.Join(l.dir, filepath.FromSlash(rel))
	old, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	l.mu.Lock()
	e := l.files[rel]
	l.mu.Unlock()
	if e == nil {
		return fmt.Errorf("append to %s: not written by the ledger", rel)
	}
	l.record(rel, e.tileset, Sum(append(old, data...)))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Remove deletes rel: it is no longer expected at its tileset.
func (l *Ledger) Remove(rel string) error {
	l.mu.Lock()
	if e := l.files[rel]; e != nil {
		e.final = ""
	}
	l.mu.Unlock()
	return os.Remove(filepath.Join(l.dir, filepath.FromSlash(rel)))
}

func (l *Ledger) record(rel, tileset, sum string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.files[rel]
	if e == nil {
		e = &entry{tileset: tileset, versions: map[string]bool{}}
		l.files[rel] = e
	}
	e.versions[sum] = true
	e.final = sum
}

// Files is the number of files written (deleted ones included).
func (l *Ledger) Files() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.files)
}

// Tally is the verdict on a scenario: what was dropped and what became of it.
type Tally struct {
	// Dropped is the number of files written.
	Dropped int
	// Uploaded is the number of distinct (tileset, content) pairs created
	// whose content is a version written to a file of that tileset.
	Uploaded int
	// Duplicates is how many creates repeated a (tileset, content) pair
	// already created.
	Duplicates int
	// Lost is the number of files still present whose content now is not
	// what their tileset last received successfully.
	Lost int
	// Torn is the number of uploads whose content matches no version ever
	// written for their tileset (a mix of versions, or nothing staged).
	Torn int
	// Missing lists the lost files, for the failure message.
	Missing []string
}

// OK reports whether nothing was duplicated, lost or torn.
func (t Tally) OK() bool { return t.Duplicates == 0 && t.Lost == 0 && t.Torn == 0 }

func (t Tally) String() string {
	return fmt.Sprintf("dropped %d / uploaded %d / duplicates %d / lost %d / torn %d",
		t.Dropped, t.Uploaded, t.Duplicates, t.Lost, t.Torn)
}

// Tally checks the uploads the server saw (in creation order) against the books.
func (l *Ledger) Tally(uploads []mapboxsim.UploadRecord) Tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	versions := map[string]map[string]bool{} // tileset → every content written for it
	for _, e := range l.files {
		if versions[e.tileset] == nil {
			versions[e.tileset] = map[string]bool{}
		}
		for v := range e.versions {
			versions[e.tileset][v] = true
		}
	}
	t := Tally{Dropped: len(l.files)}
	seen := map[[2]string]int{}
	last := map[string]string{} // tileset → content of its last successful upload
	for _, u := range uploads {
		if u.SHA256 == "" || !versions[u.Tileset][u.SHA256] {
			t.Torn++
			continue
		}
		k := [2]string{u.Tileset, u.SHA256}
		seen[k]++
		if seen[k] == 1 {
			t.Uploaded++
		} else {
			t.Duplicates++
		}
		if u.Error == "" {
			last[u.Tileset] = u.SHA256
		}
	}
	for rel, e := range l.files {
		if e.final != "" && last[e.tileset] != e.final {
			t.Lost++
			t.Missing = append(t.Missing, rel)
		}
	}
	sort.Strings(t.Missing)
	return t
}
