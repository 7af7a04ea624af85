package mapboxsim

import (
	"context"
	"io"
	"time"
)

// Storage is the S3-compatible server behind the test server's staging bucket:
// a real MinIO for tests (NewMinIO), or an in-process store for the demo.
type Storage interface {
	// Endpoint is the S3 endpoint URL clients stage to (path-style addressing).
	Endpoint() string
	// Bucket is the staging bucket; it exists.
	Bucket() string
	// Mint returns new temporary credentials that allow writing bucket/key,
	// valid for lifetime (a storage may round it up to its own minimum).
	Mint(ctx context.Context, key string, lifetime time.Duration) (accessKeyID, secretAccessKey, sessionToken string, err error)
	// Open reads a staged object; for a missing one the error wraps fs.ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes a staged object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
}
