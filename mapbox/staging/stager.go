package staging

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Limits of S3 multipart uploads, and this package's defaults.
const (
	MinPartSize = 5 << 20 // S3's minimum for every part but the last
	MaxPartSize = 5 << 30 // S3's maximum part, and its maximum single PUT
	MaxParts    = 10_000  // S3's maximum number of parts
	partRound   = 1 << 20 // part sizes raised to fit MaxParts are whole MiB

	DefaultPartSize           = 16 << 20
	DefaultConcurrency        = 4
	DefaultMultipartThreshold = 64 << 20

	// Region is where Mapbox's staging bucket lives.
	Region = "us-east-1"
)

// Checksum says when the SDK adds a CRC32 checksum to what it sends and
// checks the ones S3 returns.
type Checksum string

const (
	// ChecksumWhenSupported is the SDK's default since 2025: every upload
	// carries a CRC32 checksum, and a multipart upload is created with
	// ChecksumAlgorithm CRC32 so that S3 checks every part.
	ChecksumWhenSupported Checksum = "when_supported"
	// ChecksumWhenRequired sends checksums only where S3 demands one (never
	// for the calls staging makes): for S3-compatible servers that reject
	// the newer checksum headers.
	ChecksumWhenRequired Checksum = "when_required"
)

// Options configure a Stager. The zero value stages to AWS with the defaults.
type Options struct {
	// Endpoint, when set, is an S3-compatible endpoint URL, addressed
	// path-style (MinIO in tests). Empty means AWS S3 in Region.
	Endpoint string
	// PartSize of a multipart upload; default DefaultPartSize. It is raised
	// (to whole MiB) as needed for the file to fit in MaxParts parts, and may
	// not be below MinPartSize unless AllowSmallParts is set.
	PartSize int64
	// AllowSmallParts lets PartSize go below MinPartSize. Only a test wants
	// it: S3 (and MinIO) refuse to complete an upload whose parts, but the
	// last, are smaller than MinPartSize.
	AllowSmallParts bool
	// Concurrency is the number of parts sent at once; default 4.
	Concurrency int
	// MultipartThreshold: files smaller than this go in one PUT, others in a
	// multipart upload; default DefaultMultipartThreshold, at most MaxPartSize.
	MultipartThreshold int64
	// Checksum setting; default ChecksumWhenSupported.
	Checksum Checksum
	// HTTPClient sends the requests; default a client with connect and
	// response-header timeouts, keeping Concurrency+2 idle connections.
	HTTPClient HTTPClient
	// RetryMaxAttempts is the SDK's attempts per call (0: the SDK's 3).
	// Credentials errors are never retried by the SDK.
	RetryMaxAttempts int
	// Logger receives the staging decisions (new upload, resumed, started
	// over, completed); nil discards them.
	Logger *slog.Logger
	// BandwidthLimit caps the bytes per second the Stager sends, shared by
	// every part in flight of every Stage call at once; the zero Schedule
	// sends at full speed. See bandwidth.go, and SetBandwidthLimit.
	BandwidthLimit bwlimit.Schedule
}

// Stager stages files to S3 with Mapbox's temporary credentials. A Stager is
// safe for concurrent use; each Stage call uses the credentials it is given.
type Stager struct {
	endpoint    string
	partSize    int64
	smallParts  bool
	concurrency int
	threshold   int64
	checksum    Checksum
	httpClient  HTTPClient
	retries     int
	log         *slog.Logger
	bw          *bandwidth
}

// New returns a Stager with opts filled with defaults. It fails, wrapping
// mapbox.ErrInvalid, on a setting out of S3's limits.
func New(opts Options) (*Stager, error) {
	s := &Stager{
		endpoint:    opts.Endpoint,
		partSize:    orDefault(opts.PartSize, DefaultPartSize),
		smallParts:  opts.AllowSmallParts,
		concurrency: int(orDefault(int64(opts.Concurrency), DefaultConcurrency)),
		threshold:   orDefault(opts.MultipartThreshold, DefaultMultipartThreshold),
		checksum:    Checksum(orDefaultString(string(opts.Checksum), string(ChecksumWhenSupported))),
		httpClient:  opts.HTTPClient,
		retries:     opts.RetryMaxAttempts,
		log:         opts.Logger,
	}
	switch {
	case s.checksum != ChecksumWhenSupported && s.checksum != ChecksumWhenRequired:
		return nil, fmt.Errorf("staging: checksum %q: want %q or %q: %w", s.checksum, ChecksumWhenSupported, ChecksumWhenRequired, mapbox.ErrInvalid)
	case s.partSize < 0 || s.partSize > MaxPartSize || (s.partSize < MinPartSize && !s.smallParts):
		return nil, fmt.Errorf("staging: part size %d: want %d to %d bytes: %w", s.partSize, MinPartSize, MaxPartSize, mapbox.ErrInvalid)
	case s.concurrency < 0:
		return nil, fmt.Errorf("staging: concurrency %d: %w", s.concurrency, mapbox.ErrInvalid)
	case s.threshold < 0 || s.threshold > MaxPartSize:
		return nil, fmt.Errorf("staging: multipart threshold %d: want at most %d bytes: %w", s.threshold, MaxPartSize, mapbox.ErrInvalid)
	}
	if s.httpClient == nil {
		s.httpClient = defaultHTTPClient(s.concurrency)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.bw = newBandwidth(opts.BandwidthLimit, s.log)
	return s, nil
}

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

func orDefaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// defaultHTTPClient keeps enough idle connections for the parallel parts and
// notices dead connections; it sets no overall timeout, which would cap the
// time a part may take on a slow link.
func defaultHTTPClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 15 * time.Second
	// S3 answers CompleteMultipartUpload of a large object slowly, but it
	// sends the status line early.
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.MaxIdleConnsPerHost = concurrency + 2
	return &http.Client{Transport: t}
}

// client returns an S3 client for creds. Clients share the Stager's HTTP
// client, so its connections.
func (s *Stager) client(creds mapbox.Credentials) *s3.Client {
	o := s3.Options{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		HTTPClient:  throttledClient{inner: countingClient{s.httpClient}, bw: s.bw},
	}
	if s.endpoint != "" {
		o.BaseEndpoint = aws.String(s.endpoint)
		o.UsePathStyle = true
	}
	if s.retries > 0 {
		o.RetryMaxAttempts = s.retries
	}
	if s.checksum == ChecksumWhenRequired {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	} else {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	}
	return s3.New(o)
}

// Abort drops a multipart upload of creds' key, freeing the parts S3 holds.
// An upload that is already gone is not an error. It needs valid credentials
// for that key: with expired ones the upload stays until the bucket's
// lifecycle rules remove it.
func (s *Stager) Abort(ctx context.Context, creds mapbox.Credentials, uploadID string) error {
	_, err := s.client(creds).AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(creds.Bucket),
		Key:      aws.String(creds.Key),
		UploadId: aws.String(uploadID),
	})
	if err != nil && apiCode(err) != "NoSuchUpload" {
		return classify(ctx, fmt.Sprintf("abort upload %s of %s", uploadID, objectName(creds)), creds.SessionToken != "", err)
	}
	return nil
}

func objectName(creds mapbox.Credentials) string {
	return fmt.Sprintf("s3://%s/%s", creds.Bucket, creds.Key)
}

// Hooks let the caller persist the resume state and show progress. Any may be
// nil. Calls never overlap; they come from Stage's goroutines and should
// return quickly (a slow hook slows the upload).
type Hooks struct {
	// OnMultipartStarted is called once a new multipart upload exists and
	// before any part is sent: persist m (its UploadID above all).
	OnMultipartStarted func(m Multipart)
	// OnPart is called after each part S3 has accepted: persist p.
	OnPart func(p Part)
	// OnProgress reports bytes sent (or already on S3) out of total, at most
	// every MiB or 250 ms, and once at the end.
	OnProgress func(sent, total int64)
}

// hookCaller serialises the hooks.
type hookCaller struct {
	mu sync.Mutex
	h  Hooks
}

func (c *hookCaller) started(m Multipart) {
	if c.h.OnMultipartStarted != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.h.OnMultipartStarted(m)
	}
}

func (c *hookCaller) part(p Part) {
	if c.h.OnPart != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.h.OnPart(p)
	}
}

func (c *hookCaller) progress(sent, total int64) {
	if c.h.OnProgress != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.h.OnProgress(sent, total)
	}
}
