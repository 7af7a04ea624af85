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
	// 404 on the credentials endpoint for a token without uploads:write).
	ErrMissingScope = errors.New("mapbox: token lacks a required scope")
	// ErrInvalid: 422 or another 4xx, the request is wrong; Mapbox's message is kept.
	ErrInvalid = errors.New("mapbox: invalid request")
	// ErrNotFound: 404 on an upload that does not exist (status, delete).
	ErrNotFound = errors.New("mapbox: not found")
	// ErrTilesetBusy: 409, or 422 saying another upload to the tileset is in progress.
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
