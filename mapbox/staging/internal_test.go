package staging

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

func TestPartSizeFor(t *testing.T) {
	const gb = 1_000_000_000
	for _, tc := range []struct {
		size, want, got int64
	}{
		{size: 100 << 20, want: DefaultPartSize, got: DefaultPartSize},
		{size: 25 * gb, want: DefaultPartSize, got: DefaultPartSize}, // 1,491 parts
		{size: 200 << 30, want: DefaultPartSize, got: 21 << 20},      // 21.47 MB needed
		{size: 6 << 20, want: 1, got: 1 << 20},                       // raised to a whole MiB
		{size: 10_000 * MinPartSize, want: MinPartSize, got: MinPartSize},
		{size: 10_000*MinPartSize + 1, want: MinPartSize, got: MinPartSize + 1<<20},
	} {
		got := partSizeFor(tc.size, tc.want)
		if got != tc.got {
			t.Errorf("partSizeFor(%d, %d) = %d, want %d", tc.size, tc.want, got, tc.got)
		}
		if parts := (tc.size + got - 1) / got; parts > MaxParts {
			t.Errorf("partSizeFor(%d, %d) = %d: %d parts", tc.size, tc.want, got, parts)
		}
	}
}

// apiErr is an S3 error answer as the SDK returns it.
func apiErr(status int, code string) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: "UploadPart",
		Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "test"},
		},
	}
}

func TestClassify(t *testing.T) {
	dial := &url.Error{Op: "Put", URL: "http://127.0.0.1:1", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	for _, tc := range []struct {
		err      error
		hasToken bool
		want     error
	}{
		{apiErr(400, "ExpiredToken"), true, mapbox.ErrCredentialsExpired},
		{apiErr(400, "InvalidToken"), true, mapbox.ErrCredentialsExpired},
		{apiErr(403, "InvalidTokenId"), true, mapbox.ErrCredentialsExpired},
		{apiErr(403, "InvalidAccessKeyId"), true, mapbox.ErrCredentialsExpired},
		{apiErr(403, "InvalidAccessKeyId"), false, mapbox.ErrCredentialsExpired}, // by its 403
		{apiErr(403, "AccessDenied"), true, mapbox.ErrCredentialsExpired},
		{apiErr(403, "SignatureDoesNotMatch"), true, mapbox.ErrCredentialsExpired},
		{apiErr(400, "RequestTimeout"), true, mapbox.ErrTransient},
		{apiErr(503, "SlowDown"), true, mapbox.ErrTransient},
		{apiErr(500, "InternalError"), true, mapbox.ErrTransient},
		{apiErr(502, ""), true, mapbox.ErrTransient},
		{apiErr(400, "EntityTooSmall"), true, mapbox.ErrInvalid},
		{apiErr(404, "NoSuchBucket"), true, mapbox.ErrInvalid},
		{&retry.MaxAttemptsError{Attempt: 3, Err: dial}, true, mapbox.ErrTransient},
		{dial, true, mapbox.ErrTransient},
		{context.DeadlineExceeded, true, mapbox.ErrTransient}, // a timeout the caller did not set
	} {
		err := classify(context.Background(), "op", tc.hasToken, tc.err)
		if !errors.Is(err, tc.want) || !errors.Is(err, tc.err) {
			t.Errorf("classify(%v, token %v) = %v; want %v", tc.err, tc.hasToken, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := classify(ctx, "op", true, apiErr(500, "InternalError"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, mapbox.ErrTransient) {
		t.Errorf("classify after cancel = %v; want context.Canceled only", err)
	}
}
