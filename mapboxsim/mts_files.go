package mapboxsim

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// fileKind tells tileset sources from changesets: they are stored,
// uploaded and listed alike.
type fileKind int

const (
	kindSource fileKind = iota
	kindChangeset
)

// uri is the name MTS gives a source or changeset of user.
func (k fileKind) uri(user, id string) string {
	if k == kindChangeset {
		return mapbox.ChangesetURI(user, id)
	}
	return mapbox.SourceURI(user, id)
}

func (k fileKind) noun() string {
	if k == kindChangeset {
		return "changeset"
	}
	return "source"
}

// fileStore holds the sources (or the changesets) of the account.
type fileStore struct {
	kind  fileKind
	byID  map[string]*fileset // the latest fileset of each ID, deleted or not
	order []*fileset          // every fileset made, in creation order
}

func newFileStore(k fileKind) *fileStore {
	return &fileStore{kind: k, byID: map[string]*fileset{}}
}

// fileset is one source or changeset: its files are not kept, only what
// they hashed and counted to.
type fileset struct {
	id       string
	seq      int
	files    []storedFile
	state    []byte // the SHA-256 state of all files' bytes, in order
	size     int64
	features int // features (source) or lines (changeset) of all files
	version  int // counts the changes, for an append's check that none came between
	created  time.Time
	modified time.Time
	deleted  bool
	goneAt   time.Time // a deleted fileset is still seen until then (late deletes)
}

// storedFile is one uploaded file of a fileset.
type storedFile struct {
	sha256   string
	size     int64
	features int
}

// visible reports whether the fileset is seen at now: not deleted, or
// deleted under a late-delete fault whose delay has not passed.
func (f *fileset) visible(now time.Time) bool {
	return !f.deleted || now.Before(f.goneAt)
}

// sum is the hex SHA-256 of all the fileset's bytes, its files in order:
// for a source of one file, that file's SHA-256.
func (f *fileset) sum() string {
	return hex.EncodeToString(resumeHash(f.state).Sum(nil))
}

// resumeHash returns a SHA-256 that continues from a saved state (a fresh
// one for none).
func resumeHash(state []byte) hash.Hash {
	h := sha256.New()
	if len(state) > 0 {
		h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state)
	}
	return h
}

// saveHash returns the state of h, to resume it later.
func saveHash(h hash.Hash) []byte {
	b, _ := h.(encoding.BinaryMarshaler).MarshalBinary() // sha256 cannot fail
	return b
}

// get returns the fileset id as seen at now, nil if none.
func (fs *fileStore) get(id string, now time.Time) *fileset {
	if f := fs.byID[id]; f != nil && f.visible(now) {
		return f
	}
	return nil
}

// sizeNice writes a size as Mapbox's size_nice does ("20.39KB").
func sizeNice(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.2f%s", v, units[i])
}

// SourceUploadRecord is one upload the server accepted to a tileset source
// or changeset.
type SourceUploadRecord struct {
	Time time.Time
	// Changeset is true for an upload to a changeset.
	Changeset bool
	ID        string
	// Append is true for a POST (one more file), false for a PUT (replace).
	Append bool
	// SHA256 and Size are of this file; Features counts its features (for
	// a changeset, its lines: features and deletions).
	SHA256   string
	Size     int64
	Features int
	// Files and SourceSize are the source's after the upload.
	Files      int
	SourceSize int64
	// SourceSHA256 is the SHA-256 of all the source's files after the
	// upload, in order: what a job reading it now builds from.
	SourceSHA256 string
}

// SourceUploads lists every upload accepted to a source or changeset, in
// order: the record that proves each file was uploaded once.
func (s *Server) SourceUploads() []SourceUploadRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SourceUploadRecord(nil), s.mts.uploads...)
}

// SourceSHA256 is the SHA-256 of all the bytes of tileset source id now,
// its files in order; ok is false when the source does not exist.
func (s *Server) SourceSHA256(id string) (sum string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.mts.sources.get(id, s.now())
	if f == nil {
		return "", false
	}
	return f.sum(), true
}

// kindOf is the kind of fileset an endpoint serves.
func kindOf(ep mapbox.Endpoint) fileKind {
	switch ep {
	case mapbox.EndpointChangesetAppend, mapbox.EndpointChangesetReplace, mapbox.EndpointChangeset,
		mapbox.EndpointChangesetList, mapbox.EndpointChangesetDelete:
		return kindChangeset
	}
	return kindSource
}

// notFound answers 404 for a source or changeset.
func (s *Server) fileNotFound(w http.ResponseWriter, kind fileKind, id string) {
	writeMessage(w, http.StatusNotFound, "Tileset %s %s does not exist", kind.noun(), kind.uri(s.opts.Username, id))
}

// getFile answers one source or changeset: files, id, size, size_nice.
func (s *Server) getFile(w http.ResponseWriter, t mtsTarget) {
	kind := kindOf(t.ep)
	s.mu.Lock()
	f := s.mts.store(kind).get(t.id, s.now())
	var v map[string]any
	if f != nil {
		v = map[string]any{"files": len(f.files), "id": kind.uri(s.opts.Username, t.id), "size": f.size, "size_nice": sizeNice(f.size)}
	}
	s.mu.Unlock()
	if f == nil {
		s.fileNotFound(w, kind, t.id)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// listFiles answers a page of the sources or changesets seen now, newest
// first by sortby (created or modified).
func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, t mtsTarget) {
	modified, ok := sortBy(w, r)
	if !ok {
		return
	}
	kind := kindOf(t.ep)
	s.mu.Lock()
	now := s.now()
	var items []pageItem
	for _, f := range s.mts.store(kind).order {
		if s.mts.store(kind).byID[f.id] != f || !f.visible(now) {
			continue
		}
		at := f.created
		if modified {
			at = f.modified
		}
		items = append(items, pageItem{key: keyOf(at, f.seq),
			v: map[string]any{"files": len(f.files), "id": kind.uri(s.opts.Username, f.id), "size": f.size}})
	}
	s.mu.Unlock()
	writePage(w, r, kind.noun()+"s", items, false)
}

// deleteFile deletes a source (409 while a job reading it is active) or a
// changeset (failing the active jobs that use it): 204. Under SetLateDeletes
// the fileset is still seen for a while.
func (s *Server) deleteFile(w http.ResponseWriter, t mtsTarget) {
	kind := kindOf(t.ep)
	s.mu.Lock()
	m, now := s.mts, s.now()
	m.advance(now)
	f := m.store(kind).get(t.id, now)
	switch {
	case f == nil:
		s.mu.Unlock()
		s.fileNotFound(w, kind, t.id)
		return
	case kind == kindSource && m.locked(t.id, now):
		s.mu.Unlock()
		writeMessage(w, http.StatusConflict, LockedMessage)
		return
	}
	f.deleted, f.goneAt = true, now.Add(m.faults.lateDelete)
	f.version++
	if kind == kindChangeset {
		m.failJobsUsing(t.id, now)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
