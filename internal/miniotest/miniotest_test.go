package miniotest_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

// client is what a stager builds from Mapbox-style credentials.
func client(s *miniotest.Server, c mapbox.Credentials) *s3.Client {
	return s3.New(s3.Options{
		Region:       miniotest.Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
	})
}

func put(ctx context.Context, c *s3.Client, bucket, key string, body []byte) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(body),
	})
	return err
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func TestStartStop(t *testing.T) {
	var s *miniotest.Server
	t.Run("own server", func(t *testing.T) {
		s = miniotest.Start(t)
		if _, err := s.Root().HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(s.Bucket())}); err != nil {
			t.Fatalf("staging bucket: %v", err)
		}
	})
	// The subtest's cleanup stopped the server: its process is gone and
	// nothing answers for it. (Not "connection refused" as such: another
	// package's MinIO, started at the same moment, may take the free port.)
	if !s.Stopped() {
		t.Fatal("after cleanup the MinIO process still runs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.Root().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Bucket())}); err == nil {
		t.Fatal("after cleanup: HeadBucket succeeded")
	}
}

func TestMintedCredentialsAllowOnlyTheirKey(t *testing.T) {
	s := miniotest.Shared(t)
	ctx := context.Background()
	creds := s.Credentials(t, "mint/allowed")
	c := client(s, creds)

	if err := put(ctx, c, s.Bucket(), "mint/allowed", []byte("hello")); err != nil {
		t.Fatalf("PUT to the minted key: %v", err)
	}
	got, err := s.ReadAll(ctx, "mint/allowed")
	if err != nil || string(got) != "hello" {
		t.Fatalf("read back = %q, %v; want hello", got, err)
	}
	if err := put(ctx, c, s.Bucket(), "mint/other", []byte("x")); apiCode(err) != "AccessDenied" {
		t.Errorf("PUT to another key: %v, want AccessDenied", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("mint/allowed")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("GET of the minted key: %v, want AccessDenied", err)
	}

	wrong := creds
	wrong.SessionToken = creds.SessionToken[:len(creds.SessionToken)-4] + "AAAA"
	if err := put(ctx, client(s, wrong), s.Bucket(), "mint/allowed", []byte("x")); apiCode(err) != "InvalidTokenId" {
		t.Errorf("PUT with a wrong session token: %v, want InvalidTokenId", err)
	}
}

func TestMintedCredentialsAllowMultipart(t *testing.T) {
	s := miniotest.Shared(t)
	ctx := context.Background()
	const key = "mint/multipart"
	c := client(s, s.Credentials(t, key))
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.Bucket()), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(s.Bucket()), Key: aws.String(key), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part"),
	}); err != nil {
		t.Fatalf("upload part: %v", err)
	}
	if _, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(s.Bucket()), Key: aws.String(key), UploadId: up.UploadId}); err != nil {
		t.Fatalf("list parts: %v", err)
	}
	uploads, err := s.MultipartUploads(ctx, key)
	if err != nil || len(uploads) != 1 {
		t.Fatalf("MultipartUploads = %v, %v; want 1", uploads, err)
	}
	parts, err := s.Parts(ctx, key, aws.ToString(up.UploadId))
	if err != nil || len(parts) != 1 {
		t.Fatalf("Parts = %v, %v; want 1", parts, err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.Bucket()), Key: aws.String(key), UploadId: up.UploadId}); err != nil {
		t.Fatalf("abort: %v", err)
	}
}

func TestOpenDelete(t *testing.T) {
	s := miniotest.Shared(t)
	ctx := context.Background()
	if _, _, err := s.Open(ctx, "nothing/here"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing key: %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(ctx, "nothing/here"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if err := put(ctx, s.Root(), s.Bucket(), "od/x", []byte("12345")); err != nil {
		t.Fatal(err)
	}
	rc, n, err := s.Open(ctx, "od/x")
	if err != nil || n != 5 {
		t.Fatalf("Open = %d, %v; want 5 bytes", n, err)
	}
	rc.Close()
	if err := s.Delete(ctx, "od/x"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, "od/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Delete: %v, want fs.ErrNotExist", err)
	}
}

func TestMintLifetime(t *testing.T) {
	s := miniotest.Shared(t)
	// Below STS's minimum: rounded up, not refused.
	if _, _, tok, err := s.Mint(context.Background(), "life/x", time.Second); err != nil || tok == "" {
		t.Fatalf("Mint(1s) = %q, %v", tok, err)
	}
}

func TestStartTLS(t *testing.T) {
	s := miniotest.StartTLS(t)
	ctx := context.Background()
	if !strings.HasPrefix(s.Endpoint(), "https://127.0.0.1:") {
		t.Fatalf("Endpoint() = %q, want https://127.0.0.1:PORT", s.Endpoint())
	}
	if s.CAFile() == "" {
		t.Fatal("CAFile() is empty for a TLS server")
	}
	pemData, err := os.ReadFile(s.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatalf("CAFile %s holds no PEM certificate", s.CAFile())
	}
	withRoots := func(pool *x509.CertPool) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	tlsClient := func(c mapbox.Credentials, hc *http.Client) *s3.Client {
		return s3.New(s3.Options{
			Region:           miniotest.Region,
			BaseEndpoint:     aws.String(s.Endpoint()),
			UsePathStyle:     true,
			Credentials:      credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
			HTTPClient:       hc,
			RetryMaxAttempts: 1,
		})
	}

	// Credentials minted over TLS (StartTLS's STS client) PUT their key
	// from a client that trusts CAFile.
	const key = "tls/allowed"
	creds := s.Credentials(t, key)
	if !strings.HasPrefix(creds.URL, "https://") {
		t.Errorf("Credentials URL = %q, want https://…", creds.URL)
	}
	if err := put(ctx, tlsClient(creds, withRoots(pool)), s.Bucket(), key, []byte("over tls")); err != nil {
		t.Fatalf("PUT over HTTPS trusting CAFile: %v", err)
	}
	if got, err := s.ReadAll(ctx, key); err != nil || string(got) != "over tls" {
		t.Fatalf("read back = %q, %v; want %q", got, err, "over tls")
	}

	// A client that does not trust the certificate fails the handshake.
	err = put(ctx, tlsClient(creds, withRoots(x509.NewCertPool())), s.Bucket(), key, []byte("x"))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("PUT not trusting the certificate: %v, want an x509.UnknownAuthorityError", err)
	}

	// HTTPClient trusts the server.
	resp, err := s.HTTPClient().Get(s.Endpoint() + "/minio/health/live")
	if err != nil {
		t.Fatalf("HTTPClient: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTPClient health: %s", resp.Status)
	}
}

func TestPlainHTTP(t *testing.T) {
	s := miniotest.Shared(t)
	if !strings.HasPrefix(s.Endpoint(), "http://") || s.CAFile() != "" || s.HTTPClient() != http.DefaultClient {
		t.Errorf("Shared: Endpoint %q, CAFile %q, HTTPClient default %v; want plain HTTP, no CA, http.DefaultClient",
			s.Endpoint(), s.CAFile(), s.HTTPClient() == http.DefaultClient)
	}
}
