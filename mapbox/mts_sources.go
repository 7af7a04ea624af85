package mapbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
)

// mtsRoot is the path every MTS endpoint is below.
const mtsRoot = "/tilesets/v1"

// ReplaceSource replaces every file of tileset source id with the
// line-delimited GeoJSON read from data (PUT /tilesets/v1/sources/{username}/{id},
// scope tilesets:write), creating the source if it does not exist. data is
// streamed as the multipart part "file", never held in memory; when its size
// is known (an *os.File, or a reader with Len, such as *bytes.Reader) the
// request carries a Content-Length, and a file whose size changes while it
// is read fails the call (ErrTransient), else it is sent chunked. The call
// returns once the Transport no longer reads data, so the caller may close
// it. A 409 (a publish job reading the source is active) matches
// ErrTilesetBusy; an answer carrying an "error" property (over a file or
// size limit), whatever its status, matches ErrInvalid. A failure to read
// data matches ErrTransient and wraps the read error.
func (c *Client) ReplaceSource(ctx context.Context, id string, data io.Reader) (SourceInfo, error) {
	return c.uploadFile(ctx, EndpointSourceReplace, http.MethodPut, "sources", id, data)
}

// AppendSource adds data as one more file of tileset source id, creating
// the source if it does not exist (POST /tilesets/v1/sources/{username}/{id}).
// Otherwise as ReplaceSource.
func (c *Client) AppendSource(ctx context.Context, id string, data io.Reader) (SourceInfo, error) {
	return c.uploadFile(ctx, EndpointSourceAppend, http.MethodPost, "sources", id, data)
}

// ReplaceChangeset replaces changeset id with data: line-delimited GeoJSON
// features, each with a stable id, and {"id": …, "delete": true} lines
// (PUT /tilesets/v1/changesets/{username}/{id}). Otherwise as ReplaceSource.
func (c *Client) ReplaceChangeset(ctx context.Context, id string, data io.Reader) (SourceInfo, error) {
	return c.uploadFile(ctx, EndpointChangesetReplace, http.MethodPut, "changesets", id, data)
}

// AppendChangeset adds data as one more file of changeset id (POST
// /tilesets/v1/changesets/{username}/{id}). Otherwise as ReplaceChangeset.
func (c *Client) AppendChangeset(ctx context.Context, id string, data io.Reader) (SourceInfo, error) {
	return c.uploadFile(ctx, EndpointChangesetAppend, http.MethodPost, "changesets", id, data)
}

// Source returns what MTS holds of tileset source id (GET
// /tilesets/v1/sources/{username}/{id}, scope tilesets:read); a missing
// source matches ErrNotFound.
func (c *Client) Source(ctx context.Context, id string) (Source, error) {
	return c.sourceInfo(ctx, EndpointSource, "sources", id)
}

// Changeset returns what MTS holds of changeset id (GET
// /tilesets/v1/changesets/{username}/{id}); a missing one matches ErrNotFound.
func (c *Client) Changeset(ctx context.Context, id string) (Source, error) {
	return c.sourceInfo(ctx, EndpointChangeset, "changesets", id)
}

// DeleteSource deletes tileset source id for good (DELETE
// /tilesets/v1/sources/{username}/{id}); tilesets built from it keep
// working. While a publish job reads it the answer is 409 (ErrTilesetBusy).
// Mapbox has been seen to show a deleted source for a while.
func (c *Client) DeleteSource(ctx context.Context, id string) error {
	return c.deleteFile(ctx, EndpointSourceDelete, "sources", id)
}

// DeleteChangeset deletes changeset id (DELETE
// /tilesets/v1/changesets/{username}/{id}); jobs in progress that use it fail.
func (c *Client) DeleteChangeset(ctx context.Context, id string) error {
	return c.deleteFile(ctx, EndpointChangesetDelete, "changesets", id)
}

// ListSources returns one page of the account's tileset sources and the
// cursor of the next page ("" on the last) (GET /tilesets/v1/sources/{username},
// scope tilesets:list). Pass the cursor back as opts.Start, with the same
// Limit and SortBy.
func (c *Client) ListSources(ctx context.Context, opts MTSListOptions) ([]Source, string, error) {
	return c.listFiles(ctx, EndpointSourceList, "sources", opts)
}

// ListChangesets returns one page of the account's changesets, as ListSources.
func (c *Client) ListChangesets(ctx context.Context, opts MTSListOptions) ([]Source, string, error) {
	return c.listFiles(ctx, EndpointChangesetList, "changesets", opts)
}

// filesRoot is the root of a source or changeset path.
func (c *Client) filesRoot(kind string) string {
	return mtsRoot + "/" + kind + "/" + url.PathEscape(c.username)
}

// checkSourceID refuses, before sending, an ID MTS would refuse (Mapbox has
// been seen to reset the connection mid-upload for one).
func checkSourceID(ep Endpoint, id string) error {
	if !SourceIDPattern.MatchString(id) {
		return fmt.Errorf("mapbox %s: ID %q is not 1 to 32 letters, digits, - and _: %w", ep, id, notSentError{ErrInvalid})
	}
	return nil
}

// uploadFile sends data as the multipart "file" of one upload.
func (c *Client) uploadFile(ctx context.Context, ep Endpoint, method, kind, id string, data io.Reader) (SourceInfo, error) {
	if err := checkSourceID(ep, id); err != nil {
		return SourceInfo{}, err
	}
	if data == nil {
		return SourceInfo{}, fmt.Errorf("mapbox %s %s: no data: %w", ep, id, notSentError{ErrInvalid})
	}
	body, length, ctype := newMultipartBody(data)
	defer body.Close()
	var ans struct {
		SourceInfo
		Message string          `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	k := call{ep: ep, method: method, root: c.filesRoot(kind), path: "/" + url.PathEscape(id),
		stream: body, length: length, contentType: ctype, want: []int{http.StatusOK, http.StatusCreated}, out: &ans,
		refused: func() string { return refusedUpload(ans.Error, ans.Message) },
		check: func() string {
			if ans.ID == "" {
				return "upload answer has no id"
			}
			return ""
		}}
	_, err := c.do(ctx, k)
	body.Close() // the Transport reads data no more
	if rerr := body.dataErr(); rerr != nil && err != nil {
		return SourceInfo{}, fmt.Errorf("mapbox %s %s: read the data: %w: %w", ep, id, ErrTransient, rerr)
	}
	if err != nil {
		return SourceInfo{}, err
	}
	return ans.SourceInfo, nil
}

// refusedUpload is the reason an upload answer carrying an "error"
// property gives ("" when it carries none).
func refusedUpload(raw json.RawMessage, message string) string {
	v := strings.TrimSpace(string(raw))
	if v == "" || v == "null" || v == "false" || v == `""` {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v = s
	}
	if message != "" {
		return message + ": " + v
	}
	return v
}

func (c *Client) sourceInfo(ctx context.Context, ep Endpoint, kind, id string) (Source, error) {
	if err := checkSourceID(ep, id); err != nil {
		return Source{}, err
	}
	var s Source
	k := call{ep: ep, method: http.MethodGet, root: c.filesRoot(kind), path: "/" + url.PathEscape(id),
		want: []int{http.StatusOK}, out: &s, check: func() string {
			if s.ID == "" {
				return "answer has no id"
			}
			return ""
		}}
	if _, err := c.do(ctx, k); err != nil {
		return Source{}, err
	}
	return s, nil
}

func (c *Client) deleteFile(ctx context.Context, ep Endpoint, kind, id string) error {
	if err := checkSourceID(ep, id); err != nil {
		return err
	}
	k := call{ep: ep, method: http.MethodDelete, root: c.filesRoot(kind), path: "/" + url.PathEscape(id),
		want: []int{http.StatusNoContent, http.StatusOK}}
	_, err := c.do(ctx, k)
	return err
}

func (c *Client) listFiles(ctx context.Context, ep Endpoint, kind string, opts MTSListOptions) ([]Source, string, error) {
	q, err := listQuery(ep, opts.Limit, opts.Start)
	if err != nil {
		return nil, "", err
	}
	if opts.SortBy != "" {
		q.Set("sortby", opts.SortBy)
	}
	var out []Source
	next, err := c.listPage(ctx, call{ep: ep, method: http.MethodGet, root: c.filesRoot(kind), query: q, out: &out})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// listQuery checks a page's limit and sets it and the start cursor.
func listQuery(ep Endpoint, limit int, start string) (url.Values, error) {
	if limit < 0 || limit > MaxMTSListLimit {
		return nil, fmt.Errorf("mapbox %s: limit %d is outside 1..%d: %w", ep, limit, MaxMTSListLimit, notSentError{ErrInvalid})
	}
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if start != "" {
		q.Set("start", start)
	}
	return q, nil
}

// listPage sends a list call and returns the next page's cursor from its
// Link header ("" on the last page).
func (c *Client) listPage(ctx context.Context, k call) (string, error) {
	var h http.Header
	var next string
	k.want, k.header = []int{http.StatusOK}, &h
	k.check = func() string {
		n, err := nextStart(h)
		if err != nil {
			return "list answer: " + err.Error()
		}
		next = n
		return ""
	}
	if _, err := c.do(ctx, k); err != nil {
		return "", err
	}
	return next, nil
}

// multipartBody is a multipart/form-data body of one part named "file",
// streamed from the caller's reader between a prefix and a suffix. It is
// safe to Close while the Transport reads it: Close waits for a Read in
// progress, and later Reads fail, so that once Close returned the caller's
// reader is read no more.
type multipartBody struct {
	mu     sync.Mutex
	r      io.Reader // prefix, data, suffix
	data   *watchedReader
	closed bool
}

// newMultipartBody returns the body, its length (-1 when data's size is
// unknown) and its Content-Type.
func newMultipartBody(data io.Reader) (*multipartBody, int64, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="file"`)
	h.Set("Content-Type", "application/octet-stream")
	mw.CreatePart(h) // writes to a bytes.Buffer: cannot fail
	prefix := bytes.Clone(buf.Bytes())
	buf.Reset()
	mw.Close()
	suffix := bytes.Clone(buf.Bytes())
	length := int64(-1)
	if n, ok := sizeOf(data); ok {
		length = int64(len(prefix)) + n + int64(len(suffix))
	}
	w := &watchedReader{r: data}
	b := &multipartBody{data: w, r: io.MultiReader(bytes.NewReader(prefix), w, bytes.NewReader(suffix))}
	return b, length, mw.FormDataContentType()
}

func (b *multipartBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errors.New("request body closed")
	}
	return b.r.Read(p)
}

// Close stops reading; it is called by the Transport and by uploadFile.
func (b *multipartBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// dataErr is the error reading the caller's data gave, if any.
func (b *multipartBody) dataErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data.err
}

// watchedReader keeps the first error (other than EOF) its reader gave.
type watchedReader struct {
	r   io.Reader
	err error
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil && err != io.EOF && w.err == nil {
		w.err = err
	}
	return n, err
}

// sizeOf is the number of bytes r has left, when that can be known without
// reading: a regular *os.File (from its current offset), or a reader with
// Len (*bytes.Reader, *bytes.Buffer, *strings.Reader).
func sizeOf(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len()), true
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		pos, err := v.Seek(0, io.SeekCurrent)
		if err != nil || pos > fi.Size() {
			return 0, false
		}
		return fi.Size() - pos, true
	}
	return 0, false
}
