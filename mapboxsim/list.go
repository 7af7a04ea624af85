package mapboxsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// maxListBytes caps a list answer, as Mapbox does.
const maxListBytes = 1 << 20

// DefaultListLimit is the number of uploads listed without a limit parameter.
// Mapbox does not document its default; a small one catches clients that
// rely on it.
const DefaultListLimit = 10

// InvalidStartMessage is the 422 message for a start cursor the server
// does not know, in Mapbox's words.
const InvalidStartMessage = "Invalid start key"

// cursorOf is the opaque start cursor of the page after upload id.
func cursorOf(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("upload:" + id))
}

// cursorUpload is the upload a cursor names; nil if none. Called with s.mu
// held.
func (s *Server) cursorUpload(cursor string) *upload {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil
	}
	id, ok := strings.CutPrefix(string(b), "upload:")
	if !ok {
		return nil
	}
	return s.uploads[id]
}

// list answers one page: newest first (reverse: oldest first), after the
// upload named by the start cursor if any, at most limit uploads and
// s.listCap bytes of JSON (at least one upload, so that a walk always
// progresses), with a Link to the next page when uploads remain. The cursor
// names an upload (deleted ones still count as positions), so uploads
// created between two pages never shift the later pages.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > mapbox.MaxListLimit {
			writeMessage(w, http.StatusUnprocessableEntity, "limit must be an integer between 1 and %d", mapbox.MaxListLimit)
			return
		}
		limit = n
	}
	reverse := false
	if v := q.Get("reverse"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeMessage(w, http.StatusUnprocessableEntity, "reverse must be true or false")
			return
		}
		reverse = b
	}
	s.mu.Lock()
	now := s.now()
	after := -1 // the seq of the start cursor's upload
	if v := q.Get("start"); v != "" {
		u := s.cursorUpload(v)
		if u == nil {
			s.mu.Unlock()
			writeMessage(w, http.StatusUnprocessableEntity, InvalidStartMessage)
			return
		}
		after = u.seq
	}
	var page []*upload
	more := false
	for i := range s.order {
		u := s.order[i]
		if !reverse {
			u = s.order[len(s.order)-1-i]
		}
		if u.deleted || (after >= 0 && (reverse && u.seq <= after || !reverse && u.seq >= after)) {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, u)
	}
	out := make([]mapbox.Upload, 0, len(page))
	for _, u := range page {
		out = append(out, u.view(now))
	}
	listCap := s.listCap
	s.mu.Unlock()
	body, _ := json.Marshal(out)
	for len(body) > listCap && len(out) > 1 {
		out, more = out[:len(out)-1], true
		body, _ = json.Marshal(out)
	}
	if more {
		next := *r.URL
		nq := r.URL.Query()
		nq.Del("access_token")
		nq.Set("start", cursorOf(out[len(out)-1].ID))
		next.RawQuery = nq.Encode()
		next.Scheme, next.Host = "http", r.Host
		if r.TLS != nil {
			next.Scheme = "https"
		}
		w.Header().Set("Link", "<"+next.String()+">; rel=\"next\"")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}
