package mapboxsim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// DefaultMTSListLimit is the number of items an MTS list answers without a
// limit parameter (Mapbox's documented default).
const DefaultMTSListLimit = 100

// pageKey is an item's place in an MTS list: a time (its creation or
// modification) and its sequence number among its kind.
type pageKey struct {
	t   int64
	seq int
}

func (a pageKey) less(b pageKey) bool {
	return a.t < b.t || a.t == b.t && a.seq < b.seq
}

// pageItem is one item of a list, its key and its JSON view.
type pageItem struct {
	key pageKey
	v   any
}

func keyOf(t time.Time, seq int) pageKey { return pageKey{t: t.UnixNano(), seq: seq} }

// cursor is the opaque start of the page after key in a list of kind.
func cursor(kind string, k pageKey) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:%d", kind, k.t, k.seq))
}

// parseCursor reads a cursor made by cursor for kind.
func parseCursor(kind, c string) (pageKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return pageKey{}, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != kind {
		return pageKey{}, false
	}
	t, err1 := strconv.ParseInt(parts[1], 10, 64)
	seq, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || seq < 0 {
		return pageKey{}, false
	}
	return pageKey{t: t, seq: seq}, true
}

// pageLimit reads the limit parameter (1..500, default 100), answering 422
// for a bad one.
func pageLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return DefaultMTSListLimit, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > mapbox.MaxMTSListLimit {
		writeMessage(w, http.StatusUnprocessableEntity, "limit must be an integer between 1 and %d", mapbox.MaxMTSListLimit)
		return 0, false
	}
	return n, true
}

// sortBy reads the sortby parameter (created, the default, or modified),
// answering 422 for another.
func sortBy(w http.ResponseWriter, r *http.Request) (modified, ok bool) {
	switch v := r.URL.Query().Get("sortby"); v {
	case "", "created":
		return false, true
	case "modified":
		return true, true
	}
	writeMessage(w, http.StatusUnprocessableEntity, "sortby must be created or modified")
	return false, false
}

// writePage answers one page of items, newest first unless oldestFirst,
// after the item the start cursor names (the cursor names a place, so
// items made or deleted between two pages never shift the later ones), at
// most the limit, with Link: <…>; rel="next" when items remain; 422 for a
// bad limit or an unknown start.
func writePage(w http.ResponseWriter, r *http.Request, kind string, items []pageItem, oldestFirst bool) {
	limit, ok := pageLimit(w, r)
	if !ok {
		return
	}
	var after *pageKey
	if v := r.URL.Query().Get("start"); v != "" {
		k, ok := parseCursor(kind, v)
		if !ok {
			writeMessage(w, http.StatusUnprocessableEntity, InvalidStartMessage)
			return
		}
		after = &k
	}
	slices.SortFunc(items, func(a, b pageItem) int {
		switch {
		case a.key == b.key:
			return 0
		case a.key.less(b.key) == oldestFirst:
			return -1
		}
		return 1
	})
	page := []any{}
	var last pageKey
	more := false
	for _, it := range items {
		if after != nil && (oldestFirst && !after.less(it.key) || !oldestFirst && !it.key.less(*after)) {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, it.v)
		last = it.key
	}
	if more {
		w.Header().Set("Link", "<"+nextLink(r, cursor(kind, last))+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, page)
}

// nextLink is the request's URL without the token, start set to cursor.
func nextLink(r *http.Request, cursor string) string {
	next := *r.URL
	q := r.URL.Query()
	q.Del("access_token")
	q.Set("start", cursor)
	next.RawQuery = q.Encode()
	next.Scheme, next.Host = "http", r.Host
	if r.TLS != nil {
		next.Scheme = "https"
	}
	return next.String()
}
