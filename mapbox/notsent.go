package mapbox

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"sync/atomic"
)

// connWatch learns whether net/http ever handed a connection to a request:
// until it does, no byte of the request can have been written anywhere.
type connWatch struct{ got atomic.Bool }

// watch returns ctx carrying a trace that records GotConn (any trace already
// in ctx keeps being called).
func (w *connWatch) watch(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { w.got.Store(true) },
	})
}

// neverConnected reports whether a transport failure proves the request
// never left: no connection was handed to it (so a request that net/http
// sent on a kept-alive connection and then retried on a new one does not
// count) and the failure is the dial's own (refused, DNS, dial timeout,
// proxy unreachable). Both are required: a RoundTripper that ignores
// httptrace never reports GotConn, and a context cancelled while net/http
// dials is reported as the context's error, which may also come after a
// request was written.
func (w *connWatch) neverConnected(err error) bool {
	if w.got.Load() {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect")
}
