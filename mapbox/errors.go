package mapbox

import "errors"

// The errors a caller of this package can act on. Every error returned by the
// Client and the staging package wraps exactly one of them (test with
// errors.Is), so retry policy reads one classification made in one place:
//
//	ErrUnauthorized, ErrMissingScope   stop sending, report loudly, keep the work
//	ErrInvalid, ErrProcessing          permanent for this request or these bytes
//	ErrTilesetBusy                     wait a few seconds, try again
//	ErrRateLimited                     wait until the reset time (see RetryAt)
//	ErrTransient                       back off and try again
//	ErrCredentialsExpired              fetch new staging credentials, stage again
var (
	// ErrUnauthorized: 401, the token is missing, invalid or not for this account.
	ErrUnauthorized = errors.New("mapbox: token not authorized")
	// ErrMissingScope: the token lacks a scope the endpoint needs (Mapbox answers
	// 404 on the credentials endpoint for a token without uploads:write; MTS
	// answers 403 naming the scope).
	ErrMissingScope = errors.New("mapbox: token lacks a required scope")
	// ErrInvalid: 422 or another 4xx, the request is wrong; Mapbox's message is kept.
	ErrInvalid = errors.New("mapbox: invalid request")
	// ErrNotFound: 404 on an upload that does not exist (status, delete), or
	// on an MTS source, changeset, tileset or job.
	ErrNotFound = errors.New("mapbox: not found")
	// ErrTilesetBusy: 409, or 422 saying another upload to the tileset is in
	// progress; on MTS, a source locked by an active job (409), or a publish
	// refused while the account has too many jobs queued.
	ErrTilesetBusy = errors.New("mapbox: another upload to this tileset is in progress")
	// ErrRateLimited: 429; the error carries the time to wait until.
	ErrRateLimited = errors.New("mapbox: rate limited")
	// ErrTransient: 5xx, timeouts, refused or dropped connections, DNS failures.
	ErrTransient = errors.New("mapbox: transient failure")
	// ErrProcessing: Mapbox could not process the uploaded bytes (the upload's
	// error field is set). Permanent for those bytes.
	ErrProcessing = errors.New("mapbox: processing failed")
	// ErrCredentialsExpired: S3 refused the staging credentials as expired or
	// invalid (ExpiredToken, InvalidToken, InvalidTokenId): new credentials are
	// needed, and a multipart upload made with the old ones cannot be resumed.
	ErrCredentialsExpired = errors.New("mapbox: staging credentials expired")
)

// NotSent reports whether err proves that the request never reached Mapbox,
// so that whatever it asked for (a create, above all) did not happen. It is
// true, whatever the error class, when:
//
//   - Options.Gate refused the request (the rate budget never let it out, or
//     the context ended while it waited there);
//   - no connection was ever established for it: the dial failed (connection
//     refused, DNS failure, dial timeout, a proxy that could not be reached)
//     and net/http reported no connection to the request at all;
//   - the Client refused it before sending (an empty upload id, a limit out
//     of range, a request that cannot be built).
//
// It is false for every answer, whatever its status (a 4xx or 429 says that
// Mapbox refused the request, which the class tells), and for every failure
// after a connection was handed to the request: a reset, an EOF, a timeout
// waiting for the answer or a cancelled context may come after Mapbox acted.
// False is "maybe sent", never "sent".
func NotSent(err error) bool {
	var ns notSentError
	return errors.As(err, &ns)
}

// notSentError marks, in an error's chain, a request that never left.
type notSentError struct{ err error }

func (e notSentError) Error() string { return e.err.Error() }
func (e notSentError) Unwrap() error { return e.err }
