package config

import (
	"net"
	"net/netip"
	"strings"
)

// DefaultControlListen is the control endpoint's address when the file says nothing.
const DefaultControlListen = "127.0.0.1:7655"

// Control is the daemon's local control endpoint (/healthz, /metrics, /status).
type Control struct {
	// Listen is "host:port" (TCP) or "unix:/absolute/path" (a Unix socket);
	// "" when the file says "off".
	Listen string
	// AllowRemote lets Listen name an address other than loopback.
	AllowRemote bool
}

// Enabled reports whether the control endpoint is served.
func (c Control) Enabled() bool { return c.Listen != "" }

// UnixSocket returns the socket path of a "unix:" address.
func (c Control) UnixSocket() (string, bool) {
	return strings.CutPrefix(c.Listen, "unix:")
}

type controlYAML struct {
	Listen      string `yaml:"listen"`
	AllowRemote bool   `yaml:"allow_remote"`
}

func (p *parser) control(cfg *Config, raw controlYAML, base string) {
	c := &cfg.Control
	c.AllowRemote = raw.AllowRemote
	listen := orDefault(raw.Listen, DefaultControlListen)
	switch {
	case listen == "off":
		return
	case strings.HasPrefix(listen, "unix:"):
		path := strings.TrimPrefix(listen, "unix:")
		if path == "" {
			p.errorf("control.listen", "%q names no socket path (write unix:/run/tilesyncd/control.sock)", listen)
			return
		}
		c.Listen = "unix:" + absPath(base, path)
		return
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		p.errorf("control.listen", "%q is not host:port, unix:/path or off", listen)
		return
	}
	c.Listen = listen
	if !c.AllowRemote && !IsLoopback(host) {
		p.errorf("control.listen", "%q is not a loopback address: the control endpoint shows what tilesyncd uploads to anyone who reaches it; use 127.0.0.1, [::1] or localhost, or set control.allow_remote: true", listen)
	}
}

// IsLoopback reports whether host (of a host:port) names only this machine:
// "localhost" or a loopback IP. An empty host means every interface.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
