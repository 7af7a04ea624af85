package testkit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
)

// MTSUpload is one file a client uploaded to an MTS tileset source or
// changeset (PUT /tilesets/v1/sources/… or /tilesets/v1/changesets/…).
type MTSUpload struct {
	// Kind is "sources" or "changesets".
	Kind string
	// SHA256 is the hex SHA-256 of Data.
	SHA256 string
	Data   []byte
}

// MTSUploads records, off the wire, the files a client uploads to MTS
// tileset sources and changesets: what the simulator keeps only the hashes
// of. Wrap the client's transport with Wrap. Safe for concurrent use.
type MTSUploads struct {
	mu    sync.Mutex
	files []MTSUpload
}

// Wrap returns base recording the MTS uploads it carries.
func (u *MTSUploads) Wrap(base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		kind := ""
		for _, k := range []string{"sources", "changesets"} {
			if strings.Contains(r.URL.Path, "/tilesets/v1/"+k+"/") {
				kind = k
			}
		}
		if r.Method != http.MethodPut || kind == "" || r.Body == nil {
			return base.RoundTrip(r)
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		u.record(kind, r.Header.Get("Content-Type"), body)
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		return base.RoundTrip(r2)
	})
}

// record keeps the file part of a multipart body.
func (u *MTSUploads) record(kind, contentType string, body []byte) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
		}
		if p.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return
		}
		sum := sha256.Sum256(data)
		u.mu.Lock()
		u.files = append(u.files, MTSUpload{Kind: kind, SHA256: hex.EncodeToString(sum[:]), Data: data})
		u.mu.Unlock()
	}
}

// BySHA256 returns an uploaded file whose SHA-256 is sum.
func (u *MTSUploads) BySHA256(sum string) ([]byte, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, f := range u.files {
		if f.SHA256 == sum {
			return f.Data, true
		}
	}
	return nil, false
}

// Last returns the last file uploaded of kind ("sources" or "changesets").
func (u *MTSUploads) Last(kind string) ([]byte, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := len(u.files) - 1; i >= 0; i-- {
		if u.files[i].Kind == kind {
			return u.files[i].Data, true
		}
	}
	return nil, false
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
