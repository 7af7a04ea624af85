// Package control serves tilesyncd's local control endpoint: what a person,
// a monitoring system or `tilesyncd status` asks a running daemon.
//
//	/healthz   200 "ok" while tilesyncd works; 503 with the reason when Mapbox
//	           refuses the token, or when work is waiting and nothing has
//	           moved for Options.StallAfter (30 minutes by default)
//	/metrics   Prometheus text format, from a registry of its own
//	/status    JSON (Status): the state database's snapshot, the transfers in
//	           flight, the API budget, each watch folder's mode, the version
//
// # Design
//
// The server reads the daemon through Source, the four accessors it needs,
// at the moment it is asked: nothing is copied or sampled in the background.
// Most metrics are therefore collected at scrape time by one Collector that
// turns the syncer's and the budget's counters, the queue counts and the
// watchers' statuses into constant metrics. Only the API requests by
// endpoint and HTTP status are counted as they happen, by APIMetrics, whose
// Observe the daemon chains to the Mapbox client's Observe hook next to the
// budget's; it is created before the client and handed to New.
//
// Progress, for /healthz, is any change among: uploads ended, bytes staged
// (including the parts of a staging in progress), jobs enqueued, API answers
// received. The server remembers the last change it saw and when; a
// daemon with nothing pending is always healthy (unless its token is refused).
// Jobs waiting to retry after a failure are not "pending" for this purpose:
// they wait on purpose.
//
// # Caveats
//
// The endpoint has no authentication. It listens on loopback or a Unix socket
// (mode 0600) unless configured otherwise with control.allow_remote, and
// Listen refuses a non-loopback address without it. Loopback is not a
// boundary against a web page in a local browser, which can re-point its own
// name at 127.0.0.1 (DNS rebinding): every request must therefore name a
// loopback address, localhost or one of control.hosts in its Host header,
// and a request that is not a GET or HEAD and carries an Origin must come
// from the endpoint's own origin (guard.go). The http.Server bounds header
// size and the time to read a request, write an answer and sit idle. Nothing it serves holds
// the token: job credentials are removed by state.Snapshot, error texts come
// from the mapbox package, which redacts the token, and no metric label is
// built from anything but endpoint names, status codes, stages, results,
// folder paths and watch modes.
//
// Times in /status are RFC 3339; durations are seconds (floats).
package control
