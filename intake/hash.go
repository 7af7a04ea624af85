package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// hashBuffer is large enough that hashing runs at the speed of SHA-256 itself,
// and small enough that a cancellation is seen within a millisecond.
const hashBuffer = 1 << 20

// HashFile returns the SHA-256 (hex) of the regular file at path and the
// number of bytes read. It never blocks on a named pipe (watcher.OpenRegular
// refuses anything but a regular file, naming it), and it checks ctx before
// every chunk: once ctx is done it returns ctx's error within a chunk.
func HashFile(ctx context.Context, path string) (string, int64, error) {
	f, _, err := watcher.OpenRegular(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sha, n, err := hashReader(ctx, f)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("hash %s: %w", path, err)
	}
	return sha, n, err
}

// hashReader returns the SHA-256 (hex) of what r holds and its length,
// checking ctx before every chunk (ctx's error once it is done).
func hashReader(ctx context.Context, r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.CopyBuffer(h, format.ContextReader(ctx, r), make([]byte, hashBuffer))
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
