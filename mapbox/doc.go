// Package mapbox is tilesyncd's client for the Mapbox Uploads API and the
// Mapbox Tiling Service: one method per endpoint (Credentials, Create,
// Upload, List and ListPage, Delete; for MTS see below), typed results, and one classification of every failure. The staging of files to S3 with
// the temporary credentials lives in package mapbox/staging; the fake API
// that tests and the demo run against lives in mapbox/mapboxsim.
//
// # One request per call, classified
//
// A Client never retries. Each method sends exactly one request and returns
// either a result or an error that wraps exactly one of the sentinels in
// errors.go (test with errors.Is). Retry policy lives in the syncer and reads
// only the class. Classify maps an answer to its class, in one place:
//
//	401, 403                          ErrUnauthorized
//	404 on credentials, create, list  ErrMissingScope (nothing else can be missing
//	                                  there; Mapbox answers 404 to a token without
//	                                  the scope; the message names the scope)
//	404 on status, delete             ErrNotFound
//	409; 422 saying "in progress"     ErrTilesetBusy (also Delete before the upload
//	                                  finished, which the test server words so)
//	other 4xx (422 keeps Mapbox's     ErrInvalid
//	message)
//	429                               ErrRateLimited; RetryAt(err) says until when
//	5xx, 408, 3xx, timeouts, refused, ErrTransient
//	dropped connections, DNS, a 2xx
//	body that is not the JSON expected
//
// Failed calls return *APIError (endpoint, method, path, status, message,
// rate limit, retry time). A processing failure is not a failed call: Upload
// returns the upload, and (Upload).Err wraps ErrProcessing with Mapbox's
// message.
//
// # Hooks for the syncer
//
// Options.Gate is called before every request is sent; the syncer's single
// rate limiter (with priorities) blocks there. A Gate error is returned
// without sending; it matches ErrTransient unless it already matches a class.
// Options.Observe is called after every attempt that was sent with the
// endpoint, the status, the rate-limit headers (ParseRateLimit), the
// answer's Date (ServerTime), the duration and the classified error: it
// feeds the limiter's learning and the metrics. Gate refusals are not
// observed.
//
// # Not sent, or maybe sent
//
// A failed create may or may not have created an upload; the syncer's
// recovery needs to know when it certainly did not. NotSent(err) is true
// only with proof that the request never reached Mapbox: Gate refused it
// (the budget never let it out, or the context ended while it waited), the
// Client refused it before sending (an empty id, a limit out of range), or
// no connection was ever made for it (connection refused, DNS failure, dial
// timeout). The last is known from net/http's own trace (httptrace GotConn)
// together with the dial's error, so a request net/http sent on a kept-alive
// connection and then retried on a new one that failed to dial is "maybe
// sent". Every answer (a 4xx and a 429 included: Mapbox refused it, which
// the class tells) and every failure after a connection (reset, EOF, a
// timeout waiting for the answer) is "maybe sent".
//
// # Pages
//
// The list endpoint pages: the answer's Link header (rel="next") names the
// next page, whose start parameter is an opaque cursor; no such header means
// the last page. ListPage returns one page and that cursor ("" on the last
// page); ListOptions.Start asks for the page it names, with the same Limit
// and Reverse. List is ListPage without the cursor (the first page unless
// Start is set). The Link header is read per RFC 8288 (several headers and
// links, quoted or bare parameters, rel lists, relative targets); only the
// cursor is kept of it. A next link without a start is an error (it would
// silently cut the list short); a cursor Mapbox does not know is 422
// "Invalid start key" (ErrInvalid).
//
// # Mapbox's clock
//
// Upload times (Created, Modified) are Mapbox's clock, which a laptop's can
// be minutes away from. Every answer's Date header (successes and failures
// alike) is a sample of it: Exchange.ServerTime reports it, and
// ClockOffset returns Mapbox's clock minus the local clock, the median of
// the latest five samples, each taken as Date + 0.5 s against the local
// midpoint of the request (Date counts whole seconds): within about ±1 s on
// a healthy network, plus half the round trip. For the same reason a 429's
// RetryAt is a local time: X-Rate-Limit-Reset (Mapbox's clock) is turned
// into a wait of Reset − Date from the answer's arrival, which is never
// early and right however far the clocks disagree; RateLimit.Reset keeps
// the header's value.
//
// # The token
//
// The token travels in the access_token query parameter, as Mapbox requires,
// and never leaves the Client: it is held in a type that prints as
// [redacted]; Options and Client print without it; net/http's *url.Error
// (which quotes the URL) is replaced by its cause with the token removed from
// its text; log lines (debug level, one per request: endpoint, method, path,
// status, duration, error) carry the path only; Mapbox's messages are
// redacted too, in case a proxy echoes the URL. The default HTTP client does
// not follow redirects, which would carry the query to another URL.
//
// # The Mapbox Tiling Service
//
// The MTS methods (mts.go, mts_sources.go) use the same machinery: one
// request per call, Gate and Observe, the same classes, a redacted token,
// Link pages (ListSources, ListChangesets, ListTilesets, ListJobs return
// the next cursor). Each endpoint is its own Endpoint value
// (mts_endpoints.go), so a budget can hold EndpointPublish to Mapbox's 2 a
// minute (MTSRateLimits lists the documented limits). Uploads stream the
// caller's reader as the multipart part "file", with a Content-Length when
// the size is known. IDs are checked before sending (MTS has been seen to
// reset the connection for a bad one). The classes on MTS: 403 naming a
// scope is ErrMissingScope; 404 is ErrNotFound; 409 (a source locked by a
// running job) and a 422 saying jobs are queued (the account's queue is
// full) are ErrTilesetBusy; 400 and other 422s are ErrInvalid (a refused
// recipe also answers RecipeErrors), and so is an upload answered 200 with
// an "error" property; a failed job is not a failed call: (Job).Err wraps
// ErrProcessing.
//
// # Caveats
//
// Mapbox's exact wording of a 422 "tileset busy" is not documented: a 422
// whose message contains "in progress", "still processing", "currently
// processing", "being processed" or "busy" counts as busy. A 403 counts as
// unauthorized (Mapbox uses it for account problems and URL-restricted
// tokens). X-Rate-Limit-Reset is read as Unix seconds, Retry-After as
// seconds or an HTTP date; RetryAt takes the later of the two (the reset
// made local when a Date came) and reports false when neither came.
// Mapbox documents its list cursor as opaque and nothing more: whether an
// upload created during a walk can show on a later page is unknown, so a
// caller looking for every upload created since a time reads newest first
// and stops at that time rather than relying on the walk's end. The default HTTP client has no overall timeout:
// bound each call with its context.
package mapbox
