package staging

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// credentialCodes are the S3 error codes that mean the staging credentials
// can no longer be used. New credentials (a new key, so a fresh staging) are
// the only remedy for all of them.
//
// AccessDenied is among them on purpose. Mapbox's credentials allow a PUT of
// exactly their bucket/key, and this package only ever writes that key, so a
// denial means the credentials no longer grant what they granted when they
// were issued: revoked, or expired in a way the server words as a denial.
// Classifying it as ErrInvalid would drop the file for good; classifying it as
// expired costs one credentials request and a new staging, and a caller that
// keeps getting it with fresh credentials stops on its own retry budget.
// (ListParts is the exception: see listParts.)
var credentialCodes = map[string]bool{
	"ExpiredToken":          true, // AWS: the session token has expired
	"ExpiredTokenException": true,
	"TokenRefreshRequired":  true,
	"InvalidToken":          true, // AWS: malformed or invalid token
	"InvalidTokenId":        true, // MinIO: unknown or corrupted session token
	"AccessDenied":          true,
	"SignatureDoesNotMatch": true, // a secret that does not belong to the key ID
}

// transientCodes are 4xx codes worth retrying later rather than permanent.
var transientCodes = map[string]bool{
	"RequestTimeout":       true,
	"RequestTimeTooSkewed": true, // the SDK corrects skew and retries; later may work
	"SlowDown":             true,
	"ServiceUnavailable":   true,
	"InternalError":        true,
	"OperationAborted":     true,
}

// classify turns the error of an S3 call into one a caller can act on. The
// result wraps exactly one of mapbox's error classes and err itself, with op
// ("upload part 3 of s3://b/k") in front. When ctx is done the call failed
// because the caller cancelled it: the result wraps ctx's error only.
//
// hasToken says whether the credentials carry a session token: with one, an
// unknown access key ID is a temporary key that has been dropped, so expired.
func classify(ctx context.Context, op string, hasToken bool, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, context.Cause(ctx))
	}
	return fmt.Errorf("%s: %w: %w", op, class(hasToken, err), err)
}

func class(hasToken bool, err error) error {
	var params smithy.InvalidParamsError
	if errors.As(err, &params) {
		return mapbox.ErrInvalid
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case credentialCodes[code], code == "InvalidAccessKeyId" && hasToken:
			return mapbox.ErrCredentialsExpired
		case transientCodes[code]:
			return mapbox.ErrTransient
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch code := status.HTTPStatusCode(); {
		case code >= 500, code == 429, code == 408:
			return mapbox.ErrTransient
		case code == 403:
			return mapbox.ErrCredentialsExpired // see credentialCodes
		case code >= 400:
			return mapbox.ErrInvalid
		}
	}
	// No answer from S3 at all: refused or dropped connections, DNS, timeouts.
	return mapbox.ErrTransient
}

// apiCode returns the S3 error code in err, or "".
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
