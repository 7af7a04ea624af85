package control

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
)

// The status page: web/index.html (a template: it carries this start's
// action token and the version), web/page.css, web/page.js (a module that
// imports web/dom.js) and web/icon.svg, all embedded, nothing fetched from
// elsewhere. The script polls /status every second (every ten while the
// tab is out of sight) rather than holding a stream open, which the
// endpoint's write timeout and its "nothing waits" rule would not suit, and
// builds the page from it with text nodes only: file names, tileset names
// and Mapbox's messages are never parsed as HTML.

//go:embed web
var webFiles embed.FS

// PageCSP is the status page's Content-Security-Policy: its own script and
// style only, requests to this endpoint only, no frames, forms or plugins.
const PageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var pageTemplate = template.Must(template.ParseFS(webFiles, "web/index.html"))

// routePage adds the page and its files to mux.
func (s *Server) routePage(mux *http.ServeMux) {
	assets, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(assets)
	mux.Handle("GET /ui/", pageHeaders(http.StripPrefix("/ui/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "index.html" || r.URL.Path == "" {
			http.NotFound(w, r) // the page is served at / only, with its token
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))))
	mux.Handle("GET /{$}", pageHeaders(http.HandlerFunc(s.servePage)))
}

// servePage renders the page with this start's action token.
func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, struct{ Token, Version string }{s.token, s.version}); err != nil {
		http.Error(w, fmt.Sprintf("status page: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // it holds the token
	w.Write(buf.Bytes())
}

// pageHeaders sets the headers that keep the page to itself: its CSP, no
// type sniffing, no referrer, no framing.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", PageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
