package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Region is the region MinIO and every client of it use (Mapbox's staging
// bucket is in us-east-1).
const Region = "us-east-1"

// DefaultBucket is the staging bucket a started server creates.
const DefaultBucket = "tilesyncd-staging"

const (
	startTimeout = 30 * time.Second // from exec to a created bucket
	pollTick     = 20 * time.Millisecond
	stopGrace    = 10 * time.Second // SIGTERM, then SIGKILL
	logTail      = 64 << 10         // bytes of MinIO's output shown on failure
)

// Server is one running MinIO server on loopback, with a staging bucket. It
// implements mapboxsim.Storage. Its methods are safe for concurrent use.
type Server struct {
	endpoint     string
	bucket       string
	rootUser     string
	rootPassword string
	dir          string
	logPath      string
	caFile       string       // "" for plain HTTP
	httpClient   *http.Client // trusts caFile over TLS; http.DefaultClient otherwise

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been waited for
	waitErr error         // valid after exited is closed

	root *s3.Client
	sts  *sts.Client
}

// Start starts a MinIO server for tb in a temporary directory and stops it when
// tb's cleanups run; MinIO's output is logged if tb failed. It skips tb under
// -short when no MinIO binary is at hand, and fails it, saying how to get one,
// otherwise. Starting takes a second or two: see Shared to use one server for
// all the tests of a package.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return startFor(tb, false)
}

// StartTLS is Start for a server on HTTPS: Endpoint is https://127.0.0.1:PORT,
// served with a self-signed certificate generated for the server (ECDSA
// P-256, for 127.0.0.1 and localhost, valid 24 hours, its own root) and
// written to CAFile. Root, Mint and Credentials work over TLS; other clients
// must trust CAFile, or use HTTPClient. Over HTTPS the S3 SDK sends
// payloads unsigned with a trailing checksum, as it does to AWS, where over
// plain HTTP it signs (hashes) every payload.
func StartTLS(tb testing.TB) *Server {
	tb.Helper()
	return startFor(tb, true)
}

func startFor(tb testing.TB, secure bool) *Server {
	tb.Helper()
	bin, skip, err := findBinary()
	if skip {
		tb.Skip("miniotest: no MinIO binary at hand under -short; skipping")
	}
	if err != nil {
		tb.Fatalf("miniotest: %v\n%s", err, howToGet)
	}
	s, err := start(bin, tb.TempDir(), secure)
	if err != nil {
		tb.Fatalf("miniotest: %v", err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("miniotest: MinIO output (%s):\n%s", s.logPath, s.LogTail())
		}
		if err := s.stop(); err != nil {
			tb.Errorf("miniotest: %v", err)
		}
	})
	return s
}

// start runs bin as a MinIO server with its data and log in dir, on HTTPS
// when secure, and returns once the staging bucket exists. A port taken
// between choosing it and MinIO binding it is retried with new ports.
func start(bin, dir string, secure bool) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startOnce(bin, dir, secure, attempt)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startOnce(bin, dir string, secure bool, attempt int) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &Server{
		endpoint:     fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		bucket:       DefaultBucket,
		rootUser:     "root" + randomHex(8),
		rootPassword: randomHex(20),
		dir:          dir,
		logPath:      filepath.Join(dir, fmt.Sprintf("minio-%d.log", attempt)),
		httpClient:   http.DefaultClient,
		exited:       make(chan struct{}),
	}
	args := []string{"server", filepath.Join(dir, "data"),
		"--address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", ports[1])}
	if secure {
		certsDir, certFile, pool, err := writeCert(dir)
		if err != nil {
			return nil, err
		}
		s.endpoint = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		s.caFile = certFile
		s.httpClient = trustingClient(pool)
		args = append(args, "--certs-dir", certsDir)
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor

	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.rootUser,
		"MINIO_ROOT_PASSWORD="+s.rootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	rootCreds := credentials.NewStaticCredentialsProvider(s.rootUser, s.rootPassword, "")
	s3Opts := s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.endpoint),
		UsePathStyle: true,
		Credentials:  rootCreds,
	}
	stsOpts := sts.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.endpoint),
		Credentials:  rootCreds,
	}
	if secure { // over plain HTTP the SDK's own default client, as always
		s3Opts.HTTPClient, stsOpts.HTTPClient = s.httpClient, s.httpClient
	}
	s.root = s3.New(s3Opts)
	s.sts = sts.New(stsOpts)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("MinIO on %s did not start: %w\n%s", s.endpoint, err, s.LogTail())
	}
	return s, nil
}

// waitReady polls MinIO's liveness endpoint, then creates the bucket (which
// MinIO may refuse for a moment while it initialises), then mints one set of
// temporary credentials (STS answers "Server not initialized" for a while
// after the S3 API works), until ctx is done or the process exits.
func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(pollTick)
	defer tick.Stop()
	var last error
	for live, bucket := false, false; ; {
		if !live {
			last = s.probeLive(ctx)
			live = last == nil
		}
		if live && !bucket {
			_, last = s.root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)})
			bucket = last == nil
		}
		if bucket {
			if _, _, _, last = s.Mint(ctx, "readiness-probe", MinLifetime); last == nil {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("minio exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func (s *Server) probeLive(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/minio/health/live", nil)
	if err != nil {
		return err
	}
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	return nil
}

// Stopped reports whether the MinIO process has exited (and been waited for).
func (s *Server) Stopped() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after a grace period, and waits for the
// process. Stopping a stopped server does nothing.
func (s *Server) stop() error {
	if s.Stopped() {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.cmd.Process.Kill()
	}
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-s.exited:
		return nil
	case <-timer.C:
	}
	s.cmd.Process.Kill()
	<-s.exited
	return fmt.Errorf("MinIO on %s ignored SIGTERM for %v and was killed", s.endpoint, stopGrace)
}

// LogTail returns the end of MinIO's output.
func (s *Server) LogTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > logTail {
		f.Seek(fi.Size()-logTail, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// freePorts returns n loopback TCP ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
