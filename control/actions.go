package control

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"

	"github.com/tilesyncd/tilesyncd/state"
)

// Actions are what the control endpoint may change in a running daemon
// (*daemon.Daemon): the page's buttons and the commands retry, forget,
// pause and resume. Each call has done its work when it returns.
type Actions interface {
	// Retry queues failed files again as they are, and makes files
	// waiting to retry after a transient error due now.
	Retry(req RetryRequest) (ActionResult, error)
	// Forget forgets what is known of files, so that they are read again
	// and sent even if their tileset holds their content.
	Forget(files []state.FileKey) (ActionResult, error)
	// SetPaused pauses (paused true) or resumes watch folders, named by
	// their configured paths; none named: every watch folder.
	SetPaused(folders []string, paused bool) (ActionResult, error)
	// Paused lists the paused watch folders, sorted.
	Paused() []string
}

// RetryRequest names what to retry: files, or every failed one.
type RetryRequest struct {
	Files  []state.FileKey `json:"files,omitempty"`
	Failed bool            `json:"failed,omitempty"`
}

// ForgetRequest names the files to forget.
type ForgetRequest struct {
	Files []state.FileKey `json:"files"`
}

// PauseRequest names the watch folders to pause or resume; none: all.
type PauseRequest struct {
	Folders []string `json:"folders,omitempty"`
}

// ActionResult is what an action did: an item per file or folder it
// changed, and one per file or folder it left alone, with the reason.
type ActionResult struct {
	Done    []ActionItem `json:"done,omitempty"`
	Skipped []ActionItem `json:"skipped,omitempty"`
}

// ActionItem is one file or one watch folder an action dealt with.
type ActionItem struct {
	Source  state.FileKey `json:"source,omitzero"`
	Tileset string        `json:"tileset,omitempty"`
	Folder  string        `json:"folder,omitempty"`
	// Reason says why an item was skipped.
	Reason string `json:"reason,omitempty"`
}

// The action paths (all POST, JSON in and out) and the header that carries
// the action token. See doc.go, "Actions", for the rule a request must meet.
const (
	PathRetry  = "/api/retry"
	PathForget = "/api/forget"
	PathPause  = "/api/pause"
	PathResume = "/api/resume"
	// PathToken answers GET with {"token": "…"}: this start's action token.
	PathToken = "/api/token"
	// TokenHeader carries the action token on every action request.
	TokenHeader = "X-Tilesyncd-Action-Token"
)

// maxActionBody bounds an action request's body.
const maxActionBody = 1 << 20

// newActionToken returns a random token for this start of the endpoint.
func newActionToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("control: action token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// routeActions adds the action paths to mux.
func (s *Server) routeActions(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathToken, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"token": s.token})
	})
	mux.Handle("POST "+PathRetry, s.action(func(a Actions, body []byte) (ActionResult, error) {
		var req RetryRequest
		if err := decodeAction(body, &req); err != nil {
			return ActionResult{}, err
		}
		if !req.Failed && len(req.Files) == 0 {
			return ActionResult{}, badRequest{"name the files to retry, or set failed"}
		}
		return a.Retry(req)
	}))
	mux.Handle("POST "+PathForget, s.action(func(a Actions, body []byte) (ActionResult, error) {
		var req ForgetRequest
		if err := decodeAction(body, &req); err != nil {
			return ActionResult{}, err
		}
		if len(req.Files) == 0 {
			return ActionResult{}, badRequest{"name the files to forget"}
		}
		return a.Forget(req.Files)
	}))
	for path, paused := range map[string]bool{PathPause: true, PathResume: false} {
		mux.Handle("POST "+path, s.action(func(a Actions, body []byte) (ActionResult, error) {
			var req PauseRequest
			if err := decodeAction(body, &req); err != nil {
				return ActionResult{}, err
			}
			return a.SetPaused(req.Folders, paused)
		}))
	}
}

// action serves one action after checking what only a request from this
// machine, holding this start's token, meets (the Host and Origin checks of
// guard come first): a loopback peer or the Unix socket, the token in
// TokenHeader, a JSON body.
func (s *Server) action(do func(a Actions, body []byte) (ActionResult, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localPeer(r) {
			s.log.Warn("control: refused an action from another machine", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "tilesyncd control endpoint: actions are taken only from this machine (loopback or the Unix socket)", http.StatusForbidden)
			return
		}
		if got := r.Header.Get(TokenHeader); subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			// The token itself is never logged, nor what was sent in its place.
			s.log.Warn("control: refused an action without this start's token", "path", r.URL.Path, "remote", r.RemoteAddr, "token_sent", got != "")
			http.Error(w, "tilesyncd control endpoint: the action token is missing or not this start's "+
				"(header "+TokenHeader+"; a page from before a restart must be reloaded)", http.StatusForbidden)
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			http.Error(w, "tilesyncd control endpoint: an action's body is JSON (Content-Type: application/json)", http.StatusUnsupportedMediaType)
			return
		}
		if s.actions == nil {
			http.Error(w, "tilesyncd control endpoint: this endpoint takes no actions", http.StatusNotImplemented)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
		if err != nil {
			http.Error(w, fmt.Sprintf("tilesyncd control endpoint: read the request: %v", err), http.StatusRequestEntityTooLarge)
			return
		}
		res, err := do(s.actions, body)
		var bad badRequest
		switch {
		case errors.As(err, &bad):
			http.Error(w, "tilesyncd control endpoint: "+bad.msg, http.StatusBadRequest)
			return
		case err != nil:
			s.log.Warn("control: action failed", "path", r.URL.Path, "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.log.Info("control: action taken", "path", r.URL.Path, "done", len(res.Done), "skipped", len(res.Skipped))
		writeJSON(w, http.StatusOK, res)
	})
}

// badRequest is a request the action cannot take as it is: 400.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

// decodeAction decodes an action's body into v, refusing unknown fields.
func decodeAction(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest{fmt.Sprintf("the request body: %v", err)}
	}
	return nil
}

// localPeer reports whether a request came over the Unix socket or from a
// loopback address (with control.allow_remote, others reach the endpoint
// too, to read it).
func localPeer(r *http.Request) bool {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a.Network() == "unix" {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeJSON answers with v as JSON, never cached.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
