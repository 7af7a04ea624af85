package control

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
)

// The http.Server's limits. Nothing the endpoint serves streams or waits:
// every answer is computed at once, so the write timeout bounds a slow
// reader, not the work.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second // an action's body is small JSON; others have none
	writeTimeout      = 30 * time.Second
	maxHeaderBytes    = 16 << 10

	// DefaultIdleTimeout is how long a kept-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 60 * time.Second
)

// guard refuses what a web page could send through the browser of someone
// on this machine. A page whose name an attacker re-points at 127.0.0.1 (DNS
// rebinding) is same-origin with the endpoint in the browser's eyes, but its
// requests carry the attacker's name in Host: only loopback addresses,
// localhost and the configured hosts are accepted, whatever the listener
// (a Unix socket too: a local proxy may forward a browser's Host to it).
// A request that is not a GET or HEAD with an Origin header must come from
// the endpoint's own origin; one without (curl, the CLI, Prometheus) passes.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAccepted(r.Host) {
			s.log.Debug("control: refused a request for another host", "host", r.Host, "remote", r.RemoteAddr)
			http.Error(w, fmt.Sprintf("tilesyncd control endpoint: Host %q is not accepted: ask for 127.0.0.1, [::1] or localhost, "+
				"or add the name to control.hosts in the configuration", r.Host), http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if origins, ok := r.Header["Origin"]; ok && (len(origins) != 1 || !sameOrigin(origins[0], r.Host)) {
				s.log.Debug("control: refused a request from another origin", "origin", origins, "method", r.Method, "remote", r.RemoteAddr)
				http.Error(w, fmt.Sprintf("tilesyncd control endpoint: Origin %q is not this endpoint (http://%s): a web page may not send %s here",
					strings.Join(origins, ", "), r.Host, r.Method), http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// hostAccepted reports whether a Host header (with or without a port) names
// a loopback address, localhost or one of the configured hosts.
func (s *Server) hostAccepted(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if host == "" {
		return false
	}
	if config.IsLoopback(host) {
		return true
	}
	for _, h := range s.hosts {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin is http://host, the endpoint's own
// origin as a browser states it for a page the endpoint served.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}
