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
		return Upload{}, fmt.Errorf("mapbox create: encode request: %w: %w", ErrInvalid, err)
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
		return Upload{}, fmt.Errorf("mapbox status: empty upload id: %w", ErrInvalid)
	}
	var u Upload
	k := call{ep: EndpointStatus, method: http.MethodGet, path: "/" + url.PathEscape(id), want: []int{http.StatusOK}, out: &u}
	if _, err := c.do(ctx, k); err != nil {
		return Upload{}, err
	}
	return u, nil
}

// ListOptions select what List returns.
type ListOptions struct {
	// Limit is the number of uploads, 1 to 100; 0 leaves Mapbox's default.
	Limit int
	// Reverse lists the oldest first instead of the newest first.
	Reverse bool
}

// MaxListLimit is the most uploads one List call returns.
const MaxListLimit = 100

// List returns the account's recent uploads, newest first unless
// opts.Reverse (GET /uploads/v1/{username}, scope uploads:list).
func (c *Client) List(ctx context.Context, opts ListOptions) ([]Upload, error) {
	if opts.Limit < 0 || opts.Limit > MaxListLimit {
		return nil, fmt.Errorf("mapbox list: limit %d is outside 1..%d: %w", opts.Limit, MaxListLimit, ErrInvalid)
	}
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Reverse {
		q.Set("reverse", "true")
	}
	var us []Upload
	k := call{ep: EndpointList, method: http.MethodGet, query: q, want: []int{http.StatusOK}, out: &us}
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	return us, nil
}

// Delete removes the status of a finished upload from the listing (DELETE
// /uploads/v1/{username}/{id}); the tileset stays. Mapbox refuses it while
// the upload is processing.
func (c *Client) Delete(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("mapbox delete: empty upload id: %w", ErrInvalid)
	}
	k := call{ep: EndpointDelete, method: http.MethodDelete, path: "/" + url.PathEscape(id),
		want: []int{http.StatusNoContent, http.StatusOK}}
	_, err := c.do(ctx, k)
	return err
}
