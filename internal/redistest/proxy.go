package redistest

import (
	"errors"
	"net"
	"sync"
	"time"
)

// Proxy is a TCP relay from its own loopback address to a Server's, which
// can cut, refuse, swallow or slow the traffic. Each new connection dials
// the server afresh, so the proxy's address stays valid across Restarts.
// Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	mode    mode
	latency time.Duration
	links   map[*link]struct{}
	closed  bool

	wg sync.WaitGroup // the accept loop and every relay goroutine
}

type mode int

const (
	pass      mode = iota
	refuse         // close every new connection at once
	blackhole      // forward nothing, answer nothing
)

// link is one client connection and its connection to the server.
type link struct {
	client    net.Conn
	once      sync.Once
	done      chan struct{} // closed by close
	swallowed bool          // saw a blackhole: its byte streams are broken (under Proxy.mu)

	mu     sync.Mutex
	server net.Conn // nil until dialled
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.client.Close()
		l.mu.Lock()
		if l.server != nil {
			l.server.Close()
		}
		l.mu.Unlock()
	})
}

// setServer records the connection to the server; false if the link was
// closed meanwhile (the connection is closed then).
func (l *link) setServer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		c.Close()
		return false
	default:
	}
	l.server = c
	return true
}

// NewProxy starts a proxy in front of s, passing traffic; it is closed when
// the test's cleanups run.
func (s *Server) NewProxy() *Proxy {
	s.tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.tb.Fatalf("redistest: proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: s.Addr(), links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	s.tb.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is redis://ADDR/0 of the proxy, without a password.
func (p *Proxy) URL() string { return "redis://" + p.Addr() + "/0" }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l := &link{client: c, done: make(chan struct{})}
		p.mu.Lock()
		m := p.mode
		if p.closed || m == refuse {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.links[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(l, m)
	}
}

// serve relays one connection until either side closes it or the proxy cuts it.
func (p *Proxy) serve(l *link, m mode) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
		l.close()
	}()
	if m == blackhole { // accepted, never answered: hold it until cut
		p.mu.Lock()
		l.swallowed = true
		p.mu.Unlock()
		p.relay(l, l.client, nil)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !l.setServer(server) { // cut while dialling
		return
	}
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.relay(l, l.client, server); l.close() }()
	go func() { defer both.Done(); p.relay(l, server, l.client); l.close() }()
	both.Wait()
}

// relay copies from src to dst (dst nil: to nowhere), chunk by chunk, each
// after the latency in force, and drops chunks while the proxy is a blackhole.
func (p *Proxy) relay(l *link, src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop := dst == nil || p.mode == blackhole || l.swallowed
			if drop {
				l.swallowed = true
			}
			delay := p.latency
			p.mu.Unlock()
			if !drop {
				if delay > 0 {
					t := time.NewTimer(delay)
					select {
					case <-t.C:
					case <-l.done:
						t.Stop()
						return
					}
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut closes every connection through the proxy now; new ones are served
// as before.
func (p *Proxy) Cut() { p.cut(func(*link) bool { return true }) }

func (p *Proxy) cut(which func(*link) bool) {
	p.mu.Lock()
	var ls []*link
	for l := range p.links {
		if which(l) {
			ls = append(ls, l)
		}
	}
	p.mu.Unlock()
	for _, l := range ls {
		l.close()
	}
}

// Partition cuts every connection and closes each new one at once, until
// Heal: Redis is unreachable, and clients learn it fast.
func (p *Proxy) Partition() {
	p.setMode(refuse)
	p.Cut()
}

// Blackhole swallows everything until Heal: connections open and existing
// ones stay open, but no byte goes either way, so clients wait for their
// timeouts.
func (p *Proxy) Blackhole() { p.setMode(blackhole) }

// Heal ends a Partition or a Blackhole. Connections that lost bytes to the
// blackhole are cut, since their streams are broken.
func (p *Proxy) Heal() {
	p.setMode(pass)
	p.cut(func(l *link) bool { return l.swallowed })
}

// SetLatency delays every chunk of bytes by d, each way, from now on (0 for
// none): a round trip through the proxy takes at least 2d.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

func (p *Proxy) setMode(m mode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

// Close stops the proxy, cuts every connection and waits for its goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if already {
		return
	}
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}
