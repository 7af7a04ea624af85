package mapboxsim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/tilesyncd/tilesyncd/internal/clock"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemOptions configure a MemStorage. Zero values take the defaults noted.
type MemOptions struct {
	// Dir holds the object bytes; "" makes a temporary directory that Close
	// removes.
	Dir string
	// Bucket is the staging bucket's name (default "tilesyncd-staging").
	Bucket string
	// Clock is the clock credentials expire by (default clock.Real).
	Clock clock.Clock
	// MinPartSize is the smallest part but the last that
	// CompleteMultipartUpload accepts (default 5 MiB, as S3).
	MinPartSize int64
	// TLS serves HTTPS with a self-signed certificate; give HTTPClient() to
	// the S3 client. (The SDK sends aws-chunked bodies with trailing
	// checksums only over TLS.)
	TLS bool
	// Logger gets one debug line per S3 request; nil discards.
	Logger *slog.Logger
}

// MemStorage is an in-process S3-compatible server with one bucket: it
// implements Storage and serves the subset of the S3 API that a staging
// client uses, with temporary credentials minted per key. Object bytes live
// in files; only the index is in memory.
type MemStorage struct {
	opts   MemOptions
	dir    string
	ownDir bool
	ts     *httptest.Server
	log    *slog.Logger

	mu      sync.Mutex
	creds   map[string]memCred // by access key ID
	objects map[string]memObject
	uploads map[string]*memUpload // multipart uploads by upload ID
	seq     int
}

type memCred struct {
	secret, token, key string
	expires            time.Time
}

type memObject struct {
	file     string
	size     int64
	etag     string // quoted, as in the ETag header
	modified time.Time
}

type memUpload struct {
	key       string
	accessKey string
	initiated time.Time
	parts     map[int]memObject
}

var _ Storage = (*MemStorage)(nil)

// NewMemStorage starts the store's S3 endpoint on a loopback port.
func NewMemStorage(o MemOptions) (*MemStorage, error) {
	if o.Bucket == "" {
		o.Bucket = "tilesyncd-staging"
	}
	o.Clock = clock.Or(o.Clock)
	if o.MinPartSize <= 0 {
		o.MinPartSize = 5 << 20
	}
	m := &MemStorage{opts: o, dir: o.Dir, log: o.Logger, creds: map[string]memCred{},
		objects: map[string]memObject{}, uploads: map[string]*memUpload{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.dir == "" {
		d, err := os.MkdirTemp("", "mapboxsim-s3-")
		if err != nil {
			return nil, fmt.Errorf("memstorage: %w", err)
		}
		m.dir, m.ownDir = d, true
	}
	for _, sub := range []string{"objects", "parts", "tmp"} {
		if err := os.MkdirAll(filepath.Join(m.dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("memstorage: %w", err)
		}
	}
	if o.TLS {
		m.ts = httptest.NewTLSServer(http.HandlerFunc(m.serve))
	} else {
		m.ts = httptest.NewServer(http.HandlerFunc(m.serve))
	}
	return m, nil
}

// Close stops the server and removes the directory if the store made it.
func (m *MemStorage) Close() error {
	m.ts.CloseClientConnections()
	m.ts.Close()
	if m.ownDir {
		return os.RemoveAll(m.dir)
	}
	return nil
}

// Endpoint is the S3 endpoint URL (path-style addressing).
func (m *MemStorage) Endpoint() string { return m.ts.URL }

// Bucket is the one bucket.
func (m *MemStorage) Bucket() string { return m.opts.Bucket }

// Region is the region clients sign for (any is accepted).
func (m *MemStorage) Region() string { return "us-east-1" }

// HTTPClient returns an HTTP client that trusts the store's certificate
// when it serves TLS.
func (m *MemStorage) HTTPClient() *http.Client { return m.ts.Client() }

func randomText(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Mint returns temporary credentials that allow writing (and reading back)
// exactly bucket/key until lifetime has passed on the store's clock.
func (m *MemStorage) Mint(ctx context.Context, key string, lifetime time.Duration) (string, string, string, error) {
	if key == "" {
		return "", "", "", errors.New("memstorage: mint: empty key")
	}
	ak := "ASIA" + randomText(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	sk := randomText(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	tok := make([]byte, 96)
	rand.Read(tok)
	token := base64.StdEncoding.EncodeToString(tok)
	m.mu.Lock()
	m.creds[ak] = memCred{secret: sk, token: token, key: key, expires: m.opts.Clock.Now().Add(lifetime)}
	m.mu.Unlock()
	return ak, sk, token, nil
}

// ExpireCredentials makes every credential minted so far expired, so that
// S3 requests with them fail with ExpiredToken, whatever the clock says.
func (m *MemStorage) ExpireCredentials() {
	m.mu.Lock()
	defer m.mu.Unlock()
	past := m.opts.Clock.Now().Add(-time.Second)
	for ak, c := range m.creds {
		c.expires = past
		m.creds[ak] = c
	}
}

// objectFile is where an object's bytes live.
func (m *MemStorage) objectFile(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(m.dir, "objects", hex.EncodeToString(sum[:]))
}

// Open reads a stored object. For a missing one the error wraps fs.ErrNotExist.
func (m *MemStorage) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	m.mu.Lock()
	obj, ok := m.objects[key]
	m.mu.Unlock()
	if !ok {
		return nil, 0, fmt.Errorf("memstorage: open %s: %w", key, fs.ErrNotExist)
	}
	f, err := os.Open(obj.file)
	if err != nil {
		return nil, 0, fmt.Errorf("memstorage: open %s: %w", key, err)
	}
	return f, obj.size, nil
}

// Delete removes an object; a missing one is not an error.
func (m *MemStorage) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	obj, ok := m.objects[key]
	delete(m.objects, key)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	if err := os.Remove(obj.file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("memstorage: delete %s: %w", key, err)
	}
	return nil
}

// Keys lists the stored objects' keys, sorted.
func (m *MemStorage) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.objects))
	for k := range m.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// PendingMultipartUploads is the number of multipart uploads neither
// completed nor aborted.
func (m *MemStorage) PendingMultipartUploads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.uploads)
}

// tempFile creates a file for incoming bytes.
func (m *MemStorage) tempFile() (*os.File, error) {
	return os.CreateTemp(filepath.Join(m.dir, "tmp"), "in-")
}

// newUploadID returns a multipart upload ID.
func (m *MemStorage) newUploadID() string {
	m.seq++
	return fmt.Sprintf("%d.%s", m.seq, strings.ToLower(randomText(24, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")))
}
