// Package mapbox is tilesyncd's client for the Mapbox Uploads API: one method
// per endpoint (Credentials, Create, Upload, List, Delete), typed results,
// and one classification of every failure. The staging of files to S3 with
// the temporary credentials lives in package mapbox/staging; the fake API
// that tests and the demo run against lives in mapbox/mapboxtest.
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
// endpoint, the status, the rate-limit headers (ParseRateLimit), the duration
// and the classified error: it feeds the limiter's learning and the metrics.
// Gate refusals are not observed.
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
// # Caveats
//
// Mapbox's exact wording of a 422 "tileset busy" is not documented: a 422
// whose message contains "in progress", "still processing", "currently
// processing", "being processed" or "busy" counts as busy. A 403 counts as
// unauthorized (Mapbox uses it for account problems and URL-restricted
// tokens). X-Rate-Limit-Reset is read as Unix seconds, Retry-After as
// seconds or an HTTP date; RetryAt takes the later of the two and reports
// false when neither came. The default HTTP client has no overall timeout:
// bound each call with its context.
package mapbox
