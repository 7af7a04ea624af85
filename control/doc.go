// Package control serves tilesyncd's local control endpoint: what a person,
// a monitoring system or `tilesyncd status` asks a running daemon, the
// status page, and the few actions a person may take on the daemon.
//
//	/healthz   200 "ok" while tilesyncd works; 503 with the reason when Mapbox
//	           refuses the token, or when work is waiting and nothing has
//	           moved for Options.StallAfter (30 minutes by default)
//	/metrics   Prometheus text format, from a registry of its own
//	/status    JSON (Status): the state database's snapshot, the transfers in
//	           flight, the API budget, each watch folder's mode and whether
//	           it is paused, the version
//	/          the status page (page.go, web/): /status shown live, with
//	           buttons for the actions
//	/api/…     the actions (actions.go): POST retry, forget, pause, resume;
//	           GET token
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
// from the endpoint's own origin (guard.go); an action needs more (Actions,
// above). The http.Server bounds header
// size and the time to read a request, write an answer and sit idle. Nothing it serves holds
// the token: job credentials are removed by state.Snapshot, error texts come
// from the mapbox package, which redacts the token, and no metric label is
// built from anything but endpoint names, status codes, stages, results,
// folder paths and watch modes.
//
// # Actions
//
// The endpoint changes the daemon only through the actions (Actions: retry,
// forget, pause, resume), for the status page's buttons and the commands.
// An action is a POST of JSON to /api/retry, /api/forget, /api/pause or
// /api/resume, and it is taken only when every one of these holds:
//
//   - Host names a loopback address, localhost or one of control.hosts, and
//     Origin, if sent, is the endpoint's own (guard.go, as for every path);
//   - the peer is this machine: a loopback address, or the Unix socket (with
//     control.allow_remote, other machines may read the endpoint, never act);
//   - the header X-Tilesyncd-Action-Token holds the token this start of the
//     endpoint drew at random (32 bytes), compared in constant time;
//   - the body is application/json, at most 1 MiB, with no unknown field.
//
// The token is handed out only in answers to GET: embedded in the page
// (a meta tag) and by GET /api/token, which the commands read before they
// POST (Act). A page of another origin can send neither: it cannot read
// those answers (the endpoint sends no CORS header), a custom header makes
// its request one that needs a CORS preflight, which the endpoint refuses
// (the preflight's OPTIONS is answered 403 or 405, with no
// Access-Control-Allow-* header), and its Origin would be refused anyway; a
// form can set neither the header nor the JSON type. A rebound name (DNS
// rebinding) fails the Host check before any of this. The CLI sends no
// Origin and no cookie (the endpoint sets none): the token and the JSON type
// are what it needs. The token is never logged, nor what a refused request
// sent in its place; a page from before a restart is refused until
// reloaded. What holds the endpoint holds the token: anyone who can read
// the endpoint (loopback, or the socket's mode 0600) can act, as anyone who
// can run `tilesyncd retry` on the machine could before.
//
// The page (page.go) is HTML, CSS and script embedded in the binary and
// served with a Content-Security-Policy that allows its own script and
// style only and requests to the endpoint only (PageCSP), no framing and no
// sniffing. Its script puts every name and message in the page as text.
//
// Times in /status are RFC 3339; durations are seconds (floats).
package control
