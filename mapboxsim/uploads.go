package mapboxsim

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// MissingObjectError is the processing error of an upload created for a
// staged object that does not exist.
const MissingObjectError = "Could not find the staged file at the url provided."

// tilesetID is the Python SDK's check of a tileset ID.
var tilesetID = regexp.MustCompile(`^[a-z0-9-_]{1,32}\.[a-z0-9-_]{1,32}$`)

// upload is one created upload. Its progress is computed from the clock.
type upload struct {
	id, tileset, name, owner, key string
	seq                           int    // its index in Server.order
	sha256                        string // of the staged content at create time; "" if missing
	size                          int64
	created                       time.Time
	processing                    time.Duration
	failure                       string // the outcome; "" is success
	missing                       bool   // the staged object did not exist
	deleted                       bool
}

// done reports whether processing has ended at now.
func (u *upload) done(now time.Time) bool {
	return u.missing || !now.Before(u.finish())
}

// finish is when processing ends: at once for a missing object.
func (u *upload) finish() time.Time {
	if u.missing {
		return u.created
	}
	return u.created.Add(u.processing)
}

// view renders the upload as Mapbox shows it at now.
func (u *upload) view(now time.Time) mapbox.Upload {
	v := mapbox.Upload{ID: u.id, Tileset: u.tileset, Name: u.name, Owner: u.owner,
		Created: u.created.UTC(), Modified: u.created.UTC()}
	switch {
	case u.done(now) && u.failure != "":
		msg := u.failure
		v.Error = &msg
		v.Modified = u.finish().UTC()
	case u.done(now):
		v.Complete, v.Progress = true, 1
		v.Modified = u.finish().UTC()
	default:
		v.Progress = float64(now.Sub(u.created)) / float64(u.processing)
		v.Progress = float64(int(v.Progress*100)) / 100
	}
	return v
}

// SetOutcome makes uploads to tileset created from now on fail with errMsg
// ("" restores success). A content outcome takes precedence.
func (s *Server) SetOutcome(tileset, errMsg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[tileset] = errMsg
}

// SetContentOutcome makes uploads of content with this SHA-256 (hex) created
// from now on fail with errMsg ("" restores success).
func (s *Server) SetContentOutcome(sha256hex, errMsg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contentOutcomes[strings.ToLower(sha256hex)] = errMsg
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// credentials mints temporary S3 credentials for a fresh key.
func (s *Server) credentials(w http.ResponseWriter, r *http.Request) {
	key := "_pending/" + s.opts.Username + "/" + randomID(12)
	s.mu.Lock()
	lifetime := s.opts.CredentialLifetime
	s.mu.Unlock()
	st := s.opts.Storage
	ak, sk, tok, err := st.Mint(r.Context(), key, lifetime)
	if err != nil {
		s.log.Error("mapboxsim: mint credentials", "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if s.takeCorrupt() {
		tok = "corrupt" + tok
	}
	writeJSON(w, http.StatusOK, mapbox.Credentials{AccessKeyID: ak, SecretAccessKey: sk, SessionToken: tok,
		Bucket: st.Bucket(), Key: key, URL: "https://" + st.Bucket() + ".s3.amazonaws.com/" + key})
}

// stagedKey maps a create url back to the staging key, or explains why not.
func (s *Server) stagedKey(raw string) (string, error) {
	if strings.HasPrefix(raw, "mapbox://datasets/") {
		return "", errors.New("Dataset uploads are not supported by this server")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("Invalid url: must be the url of a file in the Mapbox staging bucket")
	}
	bucket := s.opts.Storage.Bucket()
	if u.Host != bucket+".s3.amazonaws.com" || len(u.Path) < 2 {
		return "", fmt.Errorf("Invalid url: %s is not in the Mapbox staging bucket", raw)
	}
	return strings.TrimPrefix(u.Path, "/"), nil
}

// validateCreate decodes and checks a create body; the error text is the
// 422 message.
func (s *Server) validateCreate(body []byte) (mapbox.CreateRequest, string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return mapbox.CreateRequest{}, "", errors.New("Invalid JSON in request body")
	}
	for k := range raw {
		if k != "tileset" && k != "url" && k != "name" {
			return mapbox.CreateRequest{}, "", fmt.Errorf("Unknown property %q", k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req mapbox.CreateRequest
	if err := dec.Decode(&req); err != nil {
		return req, "", errors.New("Invalid request body: tileset, url and name must be strings")
	}
	switch {
	case req.Tileset == "":
		return req, "", errors.New("Missing property \"tileset\"")
	case req.URL == "":
		return req, "", errors.New("Missing property \"url\"")
	case !tilesetID.MatchString(req.Tileset):
		return req, "", fmt.Errorf("Invalid tileset ID %q: it must be username.name, the name at most 32 characters of a-z, 0-9, - and _", req.Tileset)
	case !strings.HasPrefix(req.Tileset, s.opts.Username+"."):
		return req, "", fmt.Errorf("Invalid tileset ID %q: the tileset owner must be %s", req.Tileset, s.opts.Username)
	case len([]rune(req.Name)) > 64:
		return req, "", errors.New("Invalid name: it must be at most 64 characters")
	}
	key, err := s.stagedKey(req.URL)
	return req, key, err
}

// create validates the request, hashes the staged object and starts processing.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Could not read the request body")
		return
	}
	req, key, err := s.validateCreate(body)
	if err != nil {
		writeMessage(w, http.StatusUnprocessableEntity, "%s", err.Error())
		return
	}
	if s.busy(req.Tileset) {
		s.answerBusy(w, req.Tileset)
		return
	}
	sum, size, err := s.hashObject(r, key)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		s.log.Error("mapboxsim: read staged object", "key", key, "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	s.mu.Lock()
	now := s.now()
	for _, u := range s.order { // checked again: hashing took time
		if u.tileset == req.Tileset && !u.done(now) {
			s.mu.Unlock()
			s.answerBusy(w, req.Tileset)
			return
		}
	}
	u := &upload{id: randomID(12), tileset: req.Tileset, name: req.Name, owner: s.opts.Username, key: key,
		seq: len(s.order), sha256: sum, size: size, created: now, processing: s.opts.ProcessingTime, missing: missing}
	if u.name == "" {
		u.name = strings.TrimPrefix(req.Tileset, s.opts.Username+".")
	}
	if msg, ok := s.outcomes[req.Tileset]; ok {
		u.failure = msg
	}
	if msg, ok := s.contentOutcomes[sum]; ok && sum != "" {
		u.failure = msg
	}
	if missing {
		u.failure = MissingObjectError
	}
	s.uploads[u.id] = u
	s.order = append(s.order, u)
	s.mu.Unlock()
	// The answer is made before processing can have failed, as on Mapbox.
	v := u.view(now)
	v.Error, v.Complete, v.Progress = nil, false, 0
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) busy(tileset string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for _, u := range s.order {
		if u.tileset == tileset && !u.done(now) {
			return true
		}
	}
	return false
}

func (s *Server) answerBusy(w http.ResponseWriter, tileset string) {
	writeMessage(w, s.opts.BusyStatus, "An upload to tileset %s is already in progress", tileset)
}

// hashObject streams the staged object through SHA-256.
func (s *Server) hashObject(r *http.Request, key string) (string, int64, error) {
	rc, _, err := s.opts.Storage.Open(r.Context(), key)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func (s *Server) status(w http.ResponseWriter, id string) {
	s.mu.Lock()
	u, ok := s.uploads[id]
	var v mapbox.Upload
	if ok && !u.deleted {
		v = u.view(s.now())
	}
	s.mu.Unlock()
	if !ok || u.deleted {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) delete(w http.ResponseWriter, id string) {
	s.mu.Lock()
	u, ok := s.uploads[id]
	switch {
	case !ok || u.deleted:
		s.mu.Unlock()
		writeMessage(w, http.StatusNotFound, "Not Found")
	case !u.done(s.now()):
		s.mu.Unlock()
		writeMessage(w, http.StatusUnprocessableEntity, "The upload is still processing; it can be removed once complete")
	default:
		u.deleted = true
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}
