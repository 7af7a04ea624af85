package config

import (
	"fmt"
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
	// Hosts are the names (or addresses) a request may name in its Host
	// header besides loopback addresses and localhost: the names the
	// endpoint is reached by (with allow_remote, or through a name in
	// /etc/hosts). A web page cannot read the endpoint through any other
	// name (DNS rebinding); see control.Server.
	Hosts []string
}

// Enabled reports whether the control endpoint is served.
func (c Control) Enabled() bool { return c.Listen != "" }

// UnixSocket returns the socket path of a "unix:" address.
func (c Control) UnixSocket() (string, bool) {
	return strings.CutPrefix(c.Listen, "unix:")
}

type controlYAML struct {
	Listen      string   `yaml:"listen"`
	AllowRemote bool     `yaml:"allow_remote"`
	Hosts       []string `yaml:"hosts"`
}

func (p *parser) control(cfg *Config, raw controlYAML, base string) {
	c := &cfg.Control
	c.AllowRemote = raw.AllowRemote
	for i, h := range raw.Hosts {
		name, ok := hostName(h)
		if !ok {
			p.errorf(fmt.Sprintf("control.hosts[%d]", i), "%q is not a host name or address (write the name alone, as in tiles.example.lan: no scheme, no port)", h)
			continue
		}
		c.Hosts = append(c.Hosts, name)
	}
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

// hostName checks a control.hosts entry: an IP address (an IPv6 one with or
// without brackets) or a DNS name. It returns the address without brackets.
func hostName(h string) (string, bool) {
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return ip.String(), true
	}
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "-") || strings.HasSuffix(h, "-") {
		return "", false
	}
	for _, r := range h {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.' || r == '_') {
			return "", false
		}
	}
	return h, true
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
