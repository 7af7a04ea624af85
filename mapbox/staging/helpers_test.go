package staging_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

const mib = 1 << 20

// writeFile writes size pseudo-random bytes to a file in a temp dir.
func writeFile(t testing.TB, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	r := rand.NewChaCha8([32]byte{byte(size), byte(size >> 8), byte(size >> 16)})
	r.Read(data)
	path := filepath.Join(t.TempDir(), "data.mbtiles")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// key returns an object key of the test's own.
func key(t testing.TB) string {
	return "staging-test/" + strings.ReplaceAll(t.Name(), "/", "-")
}

// recorder is a RoundTripper that records the S3 requests that reach the wire.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

type request struct {
	op     string
	header http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, request{op: operation(req.Method, req.URL.Query()), header: req.Header.Clone()})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func operation(method string, q url.Values) string {
	switch {
	case method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case method == http.MethodPut:
		return "PutObject"
	case method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case method == http.MethodGet && q.Has("uploadId"):
		return "ListParts"
	case method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	}
	return method
}

func (r *recorder) count(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.reqs {
		if q.op == op {
			n++
		}
	}
	return n
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) requests(op string) []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []request
	for _, q := range r.reqs {
		if q.op == op {
			out = append(out, q)
		}
	}
	return out
}

// testOptions are multipart settings small enough for tests: 5 MiB parts
// (MinIO refuses smaller ones but the last) and multipart from 5 MiB.
func testOptions(s *miniotest.Server) staging.Options {
	return staging.Options{
		Endpoint:           s.Endpoint(),
		PartSize:           5 * mib,
		MultipartThreshold: 5 * mib,
		Concurrency:        2,
	}
}

// newStager returns a stager whose requests r records.
func newStager(t testing.TB, opts staging.Options) (*staging.Stager, *recorder) {
	t.Helper()
	r := &recorder{}
	opts.HTTPClient = &http.Client{Transport: r}
	st, err := staging.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return st, r
}

// checkObject fails t unless the staged object holds want.
func checkObject(t testing.TB, s *miniotest.Server, key string, want []byte) {
	t.Helper()
	got, err := s.ReadAll(context.Background(), key)
	if err != nil {
		t.Fatalf("read back %s: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("object %s: %d bytes, sha256 %s; want %d bytes, sha256 %s", key, len(got), sha(got), len(want), sha(want))
	}
}
