package mapbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// CacheBustParam is the query parameter, with a random value, that
// Credentials adds to defeat caches between the client and Mapbox (Mapbox's
// own clients do the same).
const CacheBustParam = "_"

// Credentials asks for temporary S3 credentials for a new staging key
// (POST /uploads/v1/{username}/credentials, scope uploads:write). A token
// without that scope gets an error matching ErrMissingScope.
func (c *Client) Credentials(ctx context.Context) (Credentials, error) {
	var nonce [8]byte
	rand.Read(nonce[:])
	var cr Credentials
	k := call{ep: EndpointCredentials, method: http.MethodPost, path: "/credentials",
		query: url.Values{CacheBustParam: {hex.EncodeToString(nonce[:])}}, want: []int{http.StatusOK, http.StatusCreated},
		out: &cr, check: func() string {
			if cr.AccessKeyID == "" || cr.SecretAccessKey == "" || cr.SessionToken == "" || cr.Bucket == "" || cr.Key == "" || cr.URL == "" {
				return "credentials answer lacks a field"
			}
			return ""
		}}
	if _, err := c.do(ctx, k); err != nil {
		return Credentials{}, err
	}
	return cr, nil
}

// Create asks Mapbox to make (or replace) req.Tileset from the staged object
// at req.URL (POST /uploads/v1/{username}). It returns the new upload, not yet
// complete; poll it with Upload. Every successful Create is billed.
func (c *Client) Create(ctx context.Context, req CreateRequest) (Upload, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Upload{}, fmt.Errorf("mapbox create: encode request: %w: %w", notSentError{ErrInvalid}, err)
	}
	var u Upload
	k := call{ep: EndpointCreate, method: http.MethodPost, body: body, want: []int{http.StatusCreated, http.StatusOK},
		out: &u, check: func() string {
			if u.ID == "" {
				return "upload answer has no id"
			}
			return ""
		}}
	if _, err := c.do(ctx, k); err != nil {
		return Upload{}, err
	}
	return u, nil
}

// Upload returns the status of one upload (GET /uploads/v1/{username}/{id},
// scope uploads:read). An upload that failed processing is returned without
// error: check u.Err().
func (c *Client) Upload(ctx context.Context, id string) (Upload, error) {
	if id == "" {
		return Upload{}, fmt.Errorf("mapbox status: empty upload id: %w", notSentError{ErrInvalid})
	}
	var u Upload
	k := call{ep: EndpointStatus, method: http.MethodGet, path: "/" + url.PathEscape(id), want: []int{http.StatusOK}, out: &u}
	if _, err := c.do(ctx, k); err != nil {
		return Upload{}, err
	}
	return u, nil
}

// ListOptions select what List and ListPage return.
type ListOptions struct {
	// Limit is the number of uploads, 1 to 100; 0 leaves Mapbox's default.
	Limit int
	// Reverse lists the oldest first instead of the newest first.
	Reverse bool
	// Start is the cursor of the page to read: "" for the first page, else
	// the next cursor that ListPage returned for the previous page, asked
	// with the same Limit and Reverse. It is opaque: Mapbox answers a cursor
	// it does not know with 422 "Invalid start key" (ErrInvalid).
	Start string
}

// MaxListLimit is the most uploads one List call returns.
const MaxListLimit = 100

// List returns one page of the account's uploads, newest first unless
// opts.Reverse (GET /uploads/v1/{username}, scope uploads:list): the first
// page unless opts.Start is set. It is ListPage without the next cursor.
func (c *Client) List(ctx context.Context, opts ListOptions) ([]Upload, error) {
	us, _, err := c.ListPage(ctx, opts)
	return us, err
}

// ListPage returns one page of the account's uploads, as List, and the
// cursor of the next page: "" on the last page. Pass it back as
// ListOptions.Start, with the same Limit and Reverse, for the next page:
//
//	for opts := (mapbox.ListOptions{Limit: mapbox.MaxListLimit}); ; {
//		page, next, err := c.ListPage(ctx, opts)
//		// ... use page ...
//		if err != nil || next == "" { break }
//		opts.Start = next
//	}
//
// The cursor comes from the start parameter of the answer's Link header
// (rel="next"); no such header means the last page. Mapbox documents the
// cursor as opaque, nothing more: mapboxsim's names a position in creation
// order, so uploads created between two pages show only on the first pages
// (newest first) or the last (reverse), and no upload is listed twice; a
// page may hold fewer than Limit uploads (Mapbox caps a body at 1 MB) and
// still have a next page. Like every method, one request, never retried.
func (c *Client) ListPage(ctx context.Context, opts ListOptions) (uploads []Upload, next string, err error) {
	if opts.Limit < 0 || opts.Limit > MaxListLimit {
		return nil, "", fmt.Errorf("mapbox list: limit %d is outside 1..%d: %w", opts.Limit, MaxListLimit, notSentError{ErrInvalid})
	}
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Reverse {
		q.Set("reverse", "true")
	}
	if opts.Start != "" {
		q.Set("start", opts.Start)
	}
	var us []Upload
	var h http.Header
	k := call{ep: EndpointList, method: http.MethodGet, query: q, want: []int{http.StatusOK}, out: &us, header: &h,
		check: func() string {
			n, err := nextStart(h)
			if err != nil {
				return "list answer: " + err.Error()
			}
			next = n
			return ""
		}}
	if _, err := c.do(ctx, k); err != nil {
		return nil, "", err
	}
	return us, next, nil
}

// Delete removes the status of a finished upload from the listing (DELETE
// /uploads/v1/{username}/{id}); the tileset stays. Mapbox refuses it while
// the upload is processing.
func (c *Client) Delete(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("mapbox delete: empty upload id: %w", notSentError{ErrInvalid})
	}
	k := call{ep: EndpointDelete, method: http.MethodDelete, path: "/" + url.PathEscape(id),
		want: []int{http.StatusNoContent, http.StatusOK}}
	_, err := c.do(ctx, k)
	return err
}
