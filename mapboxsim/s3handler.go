package mapboxsim

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// s3Error is an S3 error answer.
type s3Error struct {
	status  int
	code    string
	message string
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

var (
	errNoSuchKey    = &s3Error{http.StatusNotFound, "NoSuchKey", "The specified key does not exist."}
	errNoSuchUpload = &s3Error{http.StatusNotFound, "NoSuchUpload", "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."}
	errAccessDenied = &s3Error{http.StatusForbidden, "AccessDenied", "Access Denied"}
	errInternal     = &s3Error{http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."}
)

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(v)
}

func (m *MemStorage) writeError(w http.ResponseWriter, r *http.Request, e *s3Error) {
	m.log.Debug("memstorage error", "method", r.Method, "path", r.URL.Path, "code", e.code)
	if r.Method == http.MethodHead { // HEAD answers have no body
		w.WriteHeader(e.status)
		return
	}
	writeXML(w, e.status, struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		Resource  string
		RequestID string `xml:"RequestId"`
	}{Code: e.code, Message: e.message, Resource: r.URL.Path, RequestID: w.Header().Get("X-Amz-Request-Id")})
}

// serve routes one S3 request (path-style: /bucket/key).
func (m *MemStorage) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amz-Request-Id", strings.ToUpper(randomText(16, "0123456789abcdef")))
	m.log.Debug("memstorage request", "method", r.Method, "path", r.URL.Path)
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket != m.opts.Bucket {
		m.writeError(w, r, &s3Error{http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist"})
		return
	}
	if key == "" {
		m.writeError(w, r, errAccessDenied) // no bucket operations with staging credentials
		return
	}
	if e := m.authorize(r, key); e != nil {
		m.writeError(w, r, e)
		return
	}
	q := r.URL.Query()
	var e *s3Error
	switch {
	case r.Header.Get("X-Amz-Copy-Source") != "":
		e = &s3Error{http.StatusNotImplemented, "NotImplemented", "Copy is not implemented by this server."}
	case r.Method == http.MethodPost && q.Has("uploads"):
		e = m.createMultipart(w, key)
	case r.Method == http.MethodPut && q.Has("uploadId"):
		e = m.uploadPart(w, r, key, q.Get("uploadId"), q.Get("partNumber"))
	case r.Method == http.MethodPost && q.Has("uploadId"):
		e = m.completeMultipart(w, r, key, q.Get("uploadId"))
	case r.Method == http.MethodGet && q.Has("uploadId"):
		e = m.listParts(w, r, key, q.Get("uploadId"))
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		e = m.abortMultipart(w, key, q.Get("uploadId"))
	case r.Method == http.MethodPut:
		e = m.putObject(w, r, key)
	case r.Method == http.MethodGet, r.Method == http.MethodHead:
		e = m.getObject(w, r, key)
	case r.Method == http.MethodDelete:
		if err := m.Delete(r.Context(), key); err != nil {
			e = errInternal
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		e = &s3Error{http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource."}
	}
	if e != nil {
		m.writeError(w, r, e)
	}
}

// receive streams a write body to a new file, verifying its checksums.
func (m *MemStorage) receive(w http.ResponseWriter, r *http.Request) (memObject, *s3Error) {
	f, err := m.tempFile()
	if err != nil {
		return memObject{}, errInternal
	}
	p := newPayload(r)
	_, err = io.Copy(f, p)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	fail := func(e *s3Error) (memObject, *s3Error) {
		os.Remove(f.Name())
		return memObject{}, e
	}
	if err != nil {
		if errors.Is(err, errFraming) {
			return fail(&s3Error{http.StatusBadRequest, "InvalidRequest", "Malformed aws-chunked body."})
		}
		return fail(&s3Error{http.StatusBadRequest, "IncompleteBody", "The request body terminated unexpectedly."})
	}
	if e := p.verify(); e != nil {
		return fail(e)
	}
	p.checksumHeaders(w.Header())
	return memObject{file: f.Name(), size: p.n, etag: `"` + hex.EncodeToString(p.md5.Sum(nil)) + `"`,
		modified: time.Now().UTC()}, nil
}

func (m *MemStorage) putObject(w http.ResponseWriter, r *http.Request, key string) *s3Error {
	obj, e := m.receive(w, r)
	if e != nil {
		return e
	}
	if e := m.store(key, obj); e != nil {
		return e
	}
	w.Header().Set("ETag", obj.etag)
	w.WriteHeader(http.StatusOK)
	return nil
}

// store moves a received file into place as key's object.
func (m *MemStorage) store(key string, obj memObject) *s3Error {
	dst := m.objectFile(key)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := os.Rename(obj.file, dst); err != nil {
		os.Remove(obj.file)
		return errInternal
	}
	obj.file = dst
	m.objects[key] = obj
	return nil
}

func (m *MemStorage) getObject(w http.ResponseWriter, r *http.Request, key string) *s3Error {
	m.mu.Lock()
	obj, ok := m.objects[key]
	m.mu.Unlock()
	if !ok {
		return errNoSuchKey
	}
	f, err := os.Open(obj.file)
	if err != nil {
		return errNoSuchKey // deleted meanwhile
	}
	defer f.Close()
	w.Header().Set("ETag", obj.etag)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Accept-Ranges", "bytes")
	http.ServeContent(w, r, "", obj.modified, f)
	return nil
}

func (m *MemStorage) createMultipart(w http.ResponseWriter, key string) *s3Error {
	m.mu.Lock()
	id := m.newUploadID()
	m.uploads[id] = &memUpload{key: key, initiated: time.Now().UTC(), parts: map[int]memObject{}}
	m.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(m.dir, "parts", id), 0o755); err != nil {
		return errInternal
	}
	writeXML(w, http.StatusOK, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		NS       string   `xml:"xmlns,attr"`
		Bucket   string
		Key      string
		UploadID string `xml:"UploadId"`
	}{NS: s3NS, Bucket: m.opts.Bucket, Key: key, UploadID: id})
	return nil
}

// upload finds a multipart upload of key.
func (m *MemStorage) upload(key, id string) (*memUpload, *s3Error) {
	u, ok := m.uploads[id]
	if !ok || u.key != key {
		return nil, errNoSuchUpload
	}
	return u, nil
}

func (m *MemStorage) uploadPart(w http.ResponseWriter, r *http.Request, key, id, number string) *s3Error {
	n, err := strconv.Atoi(number)
	if err != nil || n < 1 || n > 10000 {
		return &s3Error{http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"}
	}
	m.mu.Lock()
	_, e := m.upload(key, id)
	m.mu.Unlock()
	if e != nil {
		return e
	}
	part, e := m.receive(w, r)
	if e != nil {
		return e
	}
	dst := filepath.Join(m.dir, "parts", id, strconv.Itoa(n))
	m.mu.Lock()
	defer m.mu.Unlock()
	u, e := m.upload(key, id) // aborted meanwhile?
	if e != nil {
		os.Remove(part.file)
		return e
	}
	if err := os.Rename(part.file, dst); err != nil {
		os.Remove(part.file)
		return errInternal
	}
	part.file = dst
	u.parts[n] = part
	w.Header().Set("ETag", part.etag)
	w.WriteHeader(http.StatusOK)
	return nil
}

type xmlPart struct {
	PartNumber   int
	LastModified string `xml:",omitempty"`
	ETag         string
	Size         int64 `xml:",omitempty"`
}

func (m *MemStorage) listParts(w http.ResponseWriter, r *http.Request, key, id string) *s3Error {
	q := r.URL.Query()
	maxParts := 1000
	if v, err := strconv.Atoi(q.Get("max-parts")); err == nil && v >= 0 && v < maxParts {
		maxParts = v
	}
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	m.mu.Lock()
	u, e := m.upload(key, id)
	if e != nil {
		m.mu.Unlock()
		return e
	}
	numbers := make([]int, 0, len(u.parts))
	for n := range u.parts {
		if n > marker {
			numbers = append(numbers, n)
		}
	}
	sort.Ints(numbers)
	truncated := len(numbers) > maxParts
	numbers = numbers[:min(maxParts, len(numbers))]
	parts := make([]xmlPart, 0, len(numbers))
	for _, n := range numbers {
		p := u.parts[n]
		parts = append(parts, xmlPart{PartNumber: n, LastModified: p.modified.Format(time.RFC3339), ETag: p.etag, Size: p.size})
	}
	m.mu.Unlock()
	next := marker
	if len(numbers) > 0 {
		next = numbers[len(numbers)-1]
	}
	writeXML(w, http.StatusOK, struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		NS                   string   `xml:"xmlns,attr"`
		Bucket               string
		Key                  string
		UploadID             string `xml:"UploadId"`
		PartNumberMarker     int
		NextPartNumberMarker int
		MaxParts             int
		IsTruncated          bool
		StorageClass         string
		Part                 []xmlPart
	}{NS: s3NS, Bucket: m.opts.Bucket, Key: key, UploadID: id, PartNumberMarker: marker,
		NextPartNumberMarker: next, MaxParts: maxParts, IsTruncated: truncated, StorageClass: "STANDARD", Part: parts})
	return nil
}

func (m *MemStorage) completeMultipart(w http.ResponseWriter, r *http.Request, key, id string) *s3Error {
	var req struct {
		Part []xmlPart
	}
	if err := xml.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&req); err != nil || len(req.Part) == 0 {
		return &s3Error{http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema."}
	}
	m.mu.Lock()
	u, e := m.upload(key, id)
	if e != nil {
		m.mu.Unlock()
		return e
	}
	files := make([]string, 0, len(req.Part))
	digests := md5.New()
	for i, p := range req.Part {
		have, ok := u.parts[p.PartNumber]
		switch {
		case i > 0 && p.PartNumber <= req.Part[i-1].PartNumber:
			e = &s3Error{http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number."}
		case !ok || strings.Trim(p.ETag, `"`) != strings.Trim(have.etag, `"`):
			e = &s3Error{http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."}
		case i < len(req.Part)-1 && have.size < m.opts.MinPartSize:
			e = &s3Error{http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size."}
		}
		if e != nil {
			m.mu.Unlock()
			return e
		}
		sum, _ := hex.DecodeString(strings.Trim(have.etag, `"`))
		digests.Write(sum)
		files = append(files, have.file)
	}
	m.mu.Unlock()

	obj, err := m.concat(files)
	if err != nil {
		return errInternal
	}
	obj.etag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(digests.Sum(nil)), len(req.Part))
	m.mu.Lock()
	if _, e := m.upload(key, id); e != nil { // completed or aborted meanwhile
		m.mu.Unlock()
		os.Remove(obj.file)
		return e
	}
	delete(m.uploads, id)
	m.mu.Unlock()
	if e := m.store(key, obj); e != nil {
		return e
	}
	os.RemoveAll(filepath.Join(m.dir, "parts", id))
	writeXML(w, http.StatusOK, struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		NS       string   `xml:"xmlns,attr"`
		Location string
		Bucket   string
		Key      string
		ETag     string
	}{NS: s3NS, Location: m.Endpoint() + "/" + m.opts.Bucket + "/" + key, Bucket: m.opts.Bucket, Key: key, ETag: obj.etag})
	return nil
}

// concat joins part files into a new file.
func (m *MemStorage) concat(files []string) (memObject, error) {
	out, err := m.tempFile()
	if err != nil {
		return memObject{}, err
	}
	var n int64
	for _, name := range files {
		in, err := os.Open(name)
		if err != nil {
			out.Close()
			os.Remove(out.Name())
			return memObject{}, err
		}
		c, err := io.Copy(out, in)
		in.Close()
		n += c
		if err != nil {
			out.Close()
			os.Remove(out.Name())
			return memObject{}, err
		}
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return memObject{}, err
	}
	return memObject{file: out.Name(), size: n, modified: time.Now().UTC()}, nil
}

func (m *MemStorage) abortMultipart(w http.ResponseWriter, key, id string) *s3Error {
	m.mu.Lock()
	_, e := m.upload(key, id)
	if e == nil {
		delete(m.uploads, id)
	}
	m.mu.Unlock()
	if e != nil {
		return e
	}
	os.RemoveAll(filepath.Join(m.dir, "parts", id))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
