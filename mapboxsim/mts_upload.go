package mapboxsim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Messages of the source and changeset routes, in Mapbox's words where
// Mapbox has been seen to use them.
const (
	NoFileMessage   = `No file data in request. Expected 1 file named "file".`
	LockedMessage   = "Resource is locked and cannot be modified"
	NoAccessMessage = "Access Denied: Contact Mapbox Account Manager to enable MTS Incremental Update"
)

// drainLimit bounds what is read of a refused upload's body, so that the
// client sees the answer rather than a reset.
const drainLimit = 64 << 20

func drain(r *http.Request) { io.Copy(io.Discard, io.LimitReader(r.Body, drainLimit)) }

// ingested is what reading an upload's file found.
type ingested struct {
	sha256   string
	size     int64
	features int
	state    []byte // the SHA-256 state of the fileset's bytes with this file
}

// uploadRefusal is a reason to refuse an upload, with its status.
type uploadRefusal struct {
	status int
	msg    string
	limit  bool // over a size or file limit: the body also carries "error"
}

func (u *uploadRefusal) answer(w http.ResponseWriter, r *http.Request) {
	drain(r)
	if u.limit {
		writeJSON(w, u.status, map[string]string{"message": u.msg, "error": u.msg})
		return
	}
	writeMessage(w, u.status, "%s", u.msg)
}

// uploadFile serves POST (append) and PUT (replace) of a source or
// changeset: the checks that need no body, the body streamed through
// SHA-256 and the line checker, then the same checks again (time passed)
// and the change.
func (s *Server) uploadFile(w http.ResponseWriter, r *http.Request, t mtsTarget) {
	kind := kindSource
	if t.ep == mapbox.EndpointChangesetAppend || t.ep == mapbox.EndpointChangesetReplace {
		kind = kindChangeset
	}
	appending := r.Method == http.MethodPost
	if !mapbox.SourceIDPattern.MatchString(t.id) {
		(&uploadRefusal{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid %s ID %q: 1 to 32 letters, digits, - and _", kind.noun(), t.id)}).answer(w, r)
		return
	}
	s.mu.Lock()
	m, now := s.mts, s.now()
	m.advance(now)
	refusal, base := m.checkUpload(kind, t.id, appending, now)
	var baseState []byte
	baseVersion := -1
	if base != nil && appending {
		baseState, baseVersion = base.state, base.version
	}
	maxFile, overStatus := m.opts.MaxFileSize, m.opts.OverLimitStatus
	cut, doCut := m.faults.takeDrop(t.ep)
	s.mu.Unlock()
	if refusal != nil {
		refusal.answer(w, r)
		return
	}
	body := &cutReader{r: r.Body, left: cut, on: doCut}
	in, refusal := readUpload(r, body, kind, maxFile, baseState)
	if refusal != nil && refusal.limit {
		refusal.status = overStatus
	}
	if body.cut {
		if rec, ok := w.(*recorder); ok {
			rec.drop()
			return
		}
		panic(http.ErrAbortHandler)
	}
	if refusal != nil {
		refusal.answer(w, r)
		return
	}
	s.mu.Lock()
	now = s.now()
	m.advance(now)
	refusal, cur := m.checkUpload(kind, t.id, appending, now)
	if refusal == nil && appending && (cur != base || cur != nil && cur.version != baseVersion) {
		refusal = &uploadRefusal{status: http.StatusConflict, msg: LockedMessage} // changed while this one was read
	}
	if refusal == nil {
		refusal = m.checkSize(cur, in, appending)
	}
	if refusal != nil {
		s.mu.Unlock()
		refusal.answer(w, r)
		return
	}
	f := m.store(kind).put(t.id, cur, in, appending, now)
	m.uploads = append(m.uploads, SourceUploadRecord{Time: now, Changeset: kind == kindChangeset, ID: t.id, Append: appending,
		SHA256: in.sha256, Size: in.size, Features: in.features, Files: len(f.files), SourceSize: f.size, SourceSHA256: f.sum()})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": kind.uri(s.opts.Username, t.id), "files": len(f.files),
		"file_size": in.size, "source_size": f.size})
}

// store is the fileStore of kind.
func (m *mtsState) store(kind fileKind) *fileStore {
	if kind == kindChangeset {
		return m.changesets
	}
	return m.sources
}

// checkUpload checks what an upload can be refused for before its body is
// read: an account without incremental updates (changesets), a source
// locked by a job, a source that holds MaxFiles already. It returns the
// fileset the upload changes as seen at now (nil if none). Called with
// s.mu held.
func (m *mtsState) checkUpload(kind fileKind, id string, appending bool, now time.Time) (*uploadRefusal, *fileset) {
	if kind == kindChangeset && m.opts.IncrementalDisabled {
		return &uploadRefusal{status: http.StatusUnauthorized, msg: NoAccessMessage}, nil
	}
	if kind == kindSource && m.locked(id, now) {
		return &uploadRefusal{status: http.StatusConflict, msg: LockedMessage}, nil
	}
	f := m.store(kind).get(id, now)
	if appending && f != nil && len(f.files) >= m.opts.MaxFiles {
		return &uploadRefusal{status: m.opts.OverLimitStatus, limit: true,
			msg: fmt.Sprintf("A %s may hold at most %d files", kind.noun(), m.opts.MaxFiles)}, f
	}
	return nil, f
}

// checkSize refuses an upload that would make its fileset too large.
func (m *mtsState) checkSize(cur *fileset, in ingested, appending bool) *uploadRefusal {
	total := in.size
	if appending && cur != nil {
		total += cur.size
	}
	if total > m.opts.MaxSourceSize {
		return &uploadRefusal{status: m.opts.OverLimitStatus, limit: true,
			msg: fmt.Sprintf("Source size %d bytes exceeds the limit of %d bytes", total, m.opts.MaxSourceSize)}
	}
	return nil
}

// put applies an accepted upload: a new fileset, one more file (append),
// or the fileset's files replaced by this one. A deleted fileset still
// seen (late deletes) comes back with its old files, as Mapbox was seen to
// count them after a delete.
func (fs *fileStore) put(id string, cur *fileset, in ingested, appending bool, now time.Time) *fileset {
	file := storedFile{sha256: in.sha256, size: in.size, features: in.features}
	if cur == nil {
		cur = &fileset{id: id, seq: len(fs.order), created: now}
		fs.order = append(fs.order, cur)
		fs.byID[id] = cur
	}
	if !appending {
		cur.files, cur.size, cur.features = nil, 0, 0
	}
	cur.files = append(cur.files, file)
	cur.size += in.size
	cur.features += in.features
	cur.state = in.state
	cur.version++
	cur.modified = now
	cur.deleted, cur.goneAt = false, time.Time{}
	return cur
}

// readUpload reads the multipart body: its one part named "file" goes
// through SHA-256 (alone, and after base: the fileset's bytes so far), the
// line checker and the size limit; other parts are skipped.
func readUpload(r *http.Request, body io.Reader, kind fileKind, maxFile int64, base []byte) (ingested, *uploadRefusal) {
	noFile := &uploadRefusal{status: http.StatusBadRequest, msg: NoFileMessage}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return ingested{}, noFile
	}
	mr := multipart.NewReader(body, params["boundary"])
	var in ingested
	found := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ingested{}, &uploadRefusal{status: http.StatusBadRequest, msg: "Malformed multipart body"}
		}
		if p.FormName() != "file" {
			io.Copy(io.Discard, p)
			continue
		}
		if found {
			return ingested{}, noFile
		}
		found = true
		var refusal *uploadRefusal
		if in, refusal = readFile(p, kind, maxFile, base); refusal != nil {
			return ingested{}, refusal
		}
	}
	if !found {
		return ingested{}, noFile
	}
	return in, nil
}

// readFile reads one file part.
func readFile(p io.Reader, kind fileKind, maxFile int64, base []byte) (ingested, *uploadRefusal) {
	fileHash, total := sha256.New(), resumeHash(base)
	lc := &lineChecker{kind: kind}
	lim := &sizeLimit{max: maxFile}
	_, err := io.Copy(io.MultiWriter(lim, fileHash, total, lc), p)
	switch {
	case lim.over:
		return ingested{}, &uploadRefusal{limit: true, // the caller sets the status
			msg: fmt.Sprintf("File size exceeds the limit of %d bytes", maxFile)}
	case lc.err != nil:
		return ingested{}, &uploadRefusal{status: http.StatusBadRequest, msg: InvalidFeaturesMessage + " " + capitalize(lc.err.Error())}
	case err != nil:
		return ingested{}, &uploadRefusal{status: http.StatusBadRequest, msg: "Malformed multipart body"}
	}
	if err := lc.finish(); err != nil {
		return ingested{}, &uploadRefusal{status: http.StatusBadRequest, msg: InvalidFeaturesMessage + " " + capitalize(err.Error())}
	}
	return ingested{sha256: hexSum(fileHash), size: lim.n, features: lc.features, state: saveHash(total)}, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// sizeLimit counts bytes and fails past max.
type sizeLimit struct {
	max, n int64
	over   bool
}

var errOverLimit = errors.New("over the size limit")

func (l *sizeLimit) Write(p []byte) (int, error) {
	l.n += int64(len(p))
	if l.n > l.max {
		l.over = true
		return 0, errOverLimit
	}
	return len(p), nil
}

// cutReader reads r until left bytes are read, then fails, when on: a
// DropMidUpload fault.
type cutReader struct {
	r    io.Reader
	left int64
	on   bool
	cut  bool
}

var errCut = errors.New("mapboxsim: connection dropped mid-upload")

func (c *cutReader) Read(p []byte) (int, error) {
	if !c.on {
		return c.r.Read(p)
	}
	if c.left <= 0 {
		c.cut = true
		return 0, errCut
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
