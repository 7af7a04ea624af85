package mapboxsim_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// newMemStorage starts a store closed at the end of the test.
func newMemStorage(t *testing.T, o mapboxsim.MemOptions) *mapboxsim.MemStorage {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	m, err := mapboxsim.NewMemStorage(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

type minted struct {
	key, ak, sk, token string
}

func mint(t *testing.T, m *mapboxsim.MemStorage, key string, lifetime time.Duration) minted {
	t.Helper()
	ak, sk, tok, err := m.Mint(context.Background(), key, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	return minted{key, ak, sk, tok}
}

// s3Client is the real SDK client as a stager would build it.
func s3Client(m *mapboxsim.MemStorage, c minted, checksums aws.RequestChecksumCalculation) *s3.Client {
	cfg := aws.Config{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(c.ak, c.sk, c.token),
		HTTPClient:                 m.HTTPClient(),
		RequestChecksumCalculation: checksums,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(m.Endpoint())
		o.UsePathStyle = true
	})
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// onlyReader hides Seek, so the SDK must stream the body.
type onlyReader struct{ io.Reader }

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func readBack(t *testing.T, m *mapboxsim.MemStorage, key string) []byte {
	t.Helper()
	rc, size, err := m.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != size {
		t.Fatalf("Open size %d, read %d bytes", size, len(b))
	}
	return b
}

func TestMemStoragePutObject(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tls       bool
		checksums aws.RequestChecksumCalculation
		stream    bool
	}{
		{"http-crc32-header", false, aws.RequestChecksumCalculationWhenSupported, false},
		{"http-no-checksum", false, aws.RequestChecksumCalculationWhenRequired, false},
		{"tls-aws-chunked-trailer", true, aws.RequestChecksumCalculationWhenSupported, false},
		{"tls-aws-chunked-unseekable", true, aws.RequestChecksumCalculationWhenSupported, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemStorage(t, mapboxsim.MemOptions{TLS: tc.tls})
			c := mint(t, m, "_pending/u/put", time.Hour)
			cl := s3Client(m, c, tc.checksums)
			data := randomBytes(t, 300<<10)
			var body io.Reader = bytes.NewReader(data)
			if tc.stream {
				body = onlyReader{body}
			}
			out, err := cl.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(m.Bucket()), Key: aws.String(c.key), Body: body, ContentLength: aws.Int64(int64(len(data))),
			})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			sum := md5.Sum(data)
			if got, want := aws.ToString(out.ETag), `"`+hex.EncodeToString(sum[:])+`"`; got != want {
				t.Errorf("ETag = %s, want %s", got, want)
			}
			if got := readBack(t, m, c.key); !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes, differing from the %d sent", len(got), len(data))
			}
			get, err := cl.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(m.Bucket()), Key: aws.String(c.key)})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, _ := io.ReadAll(get.Body)
			get.Body.Close()
			if !bytes.Equal(got, data) {
				t.Fatal("GetObject returned other bytes")
			}
			head, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(m.Bucket()), Key: aws.String(c.key)})
			if err != nil || aws.ToInt64(head.ContentLength) != int64(len(data)) {
				t.Fatalf("HeadObject: %v, length %d", err, aws.ToInt64(head.ContentLength))
			}
			if _, err := cl.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(m.Bucket()), Key: aws.String(c.key)}); err != nil {
				t.Fatalf("DeleteObject: %v", err)
			}
			if keys := m.Keys(); len(keys) != 0 {
				t.Fatalf("after delete, keys %v", keys)
			}
		})
	}
}

func TestMemStorageMultipart(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsOn), func(t *testing.T) {
			const partSize = 64 << 10
			m := newMemStorage(t, mapboxsim.MemOptions{TLS: tlsOn, MinPartSize: partSize})
			c := mint(t, m, "_pending/u/multi", time.Hour)
			cl := s3Client(m, c, aws.RequestChecksumCalculationWhenSupported)
			ctx := context.Background()
			bucket, key := aws.String(m.Bucket()), aws.String(c.key)
			data := randomBytes(t, 3*partSize+1234)

			cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key})
			if err != nil {
				t.Fatalf("CreateMultipartUpload: %v", err)
			}
			var parts []types.CompletedPart
			digests := md5.New()
			for i := 0; i*partSize < len(data); i++ {
				chunk := data[i*partSize : min((i+1)*partSize, len(data))]
				up, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: cr.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk), ContentLength: aws.Int64(int64(len(chunk)))})
				if err != nil {
					t.Fatalf("UploadPart %d: %v", i+1, err)
				}
				sum := md5.Sum(chunk)
				digests.Write(sum[:])
				parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
			}
			lp, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: key, UploadId: cr.UploadId, MaxParts: aws.Int32(2)})
			if err != nil {
				t.Fatalf("ListParts: %v", err)
			}
			if len(lp.Parts) != 2 || !aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "2" {
				t.Fatalf("ListParts page 1: %d parts, truncated %v, next %q", len(lp.Parts), aws.ToBool(lp.IsTruncated), aws.ToString(lp.NextPartNumberMarker))
			}
			lp2, err := cl.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: key, UploadId: cr.UploadId, PartNumberMarker: lp.NextPartNumberMarker})
			if err != nil || len(lp2.Parts) != 2 || aws.ToString(lp2.Parts[1].ETag) != aws.ToString(parts[3].ETag) {
				t.Fatalf("ListParts page 2: %v, %d parts", err, len(lp2.Parts))
			}
			// Out of order is refused, as S3 does.
			_, err = cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{parts[1], parts[0]}}})
			if code := errorCode(err); code != "InvalidPartOrder" {
				t.Fatalf("out-of-order complete: code %q (%v), want InvalidPartOrder", code, err)
			}
			done, err := cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
			if err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}
			if got, want := aws.ToString(done.ETag), fmt.Sprintf(`"%x-%d"`, digests.Sum(nil), len(parts)); got != want {
				t.Errorf("multipart ETag = %s, want %s", got, want)
			}
			if got := readBack(t, m, c.key); !bytes.Equal(got, data) {
				t.Fatal("multipart object differs from the bytes sent")
			}
			if n := m.PendingMultipartUploads(); n != 0 {
				t.Errorf("%d multipart uploads pending after complete", n)
			}
		})
	}
}

func TestMemStorageAbortAndTooSmall(t *testing.T) {
	m := newMemStorage(t, mapboxsim.MemOptions{MinPartSize: 1 << 20})
	c := mint(t, m, "_pending/u/small", time.Hour)
	cl := s3Client(m, c, aws.RequestChecksumCalculationWhenSupported)
	ctx := context.Background()
	bucket, key := aws.String(m.Bucket()), aws.String(c.key)
	cr, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i := int32(1); i <= 2; i++ {
		up, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: key, UploadId: cr.UploadId,
			PartNumber: aws.Int32(i), Body: bytes.NewReader([]byte("tiny part")), ContentLength: aws.Int64(9)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(i), ETag: up.ETag})
	}
	_, err = cl.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: key, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if code := errorCode(err); code != "EntityTooSmall" {
		t.Fatalf("complete with a small first part: code %q (%v), want EntityTooSmall", code, err)
	}
	if _, err := cl.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bucket, Key: key, UploadId: cr.UploadId}); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	_, err = cl.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: key, UploadId: cr.UploadId})
	if code := errorCode(err); code != "NoSuchUpload" {
		t.Fatalf("ListParts after abort: code %q (%v), want NoSuchUpload", code, err)
	}
}

func TestMemStorageCredentialChecks(t *testing.T) {
	clock := clock.NewManual(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	m := newMemStorage(t, mapboxsim.MemOptions{Clock: clock})
	put := func(c minted, key string) error {
		_, err := s3Client(m, c, aws.RequestChecksumCalculationWhenSupported).PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(m.Bucket()), Key: aws.String(key), Body: strings.NewReader("data")})
		return err
	}
	good := mint(t, m, "_pending/u/a", 15*time.Minute)
	other := mint(t, m, "_pending/u/b", 15*time.Minute)

	wrongToken := good
	wrongToken.token = "x" + good.token
	wrongSecret := good
	wrongSecret.sk = "not-the-secret"
	unknown := good
	unknown.ak = "ASIAUNKNOWNUNKNOWN00"

	for _, tc := range []struct {
		name string
		c    minted
		key  string
		code string
	}{
		{"own key", good, good.key, ""},
		{"another key", good, other.key, "AccessDenied"},
		{"wrong session token", wrongToken, good.key, "InvalidToken"},
		{"wrong secret", wrongSecret, good.key, "SignatureDoesNotMatch"},
		{"unknown access key", unknown, good.key, "InvalidAccessKeyId"},
	} {
		if code := errorCode(put(tc.c, tc.key)); code != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, code, tc.code)
		}
	}
	clock.Advance(15 * time.Minute)
	if code := errorCode(put(good, good.key)); code != "ExpiredToken" {
		t.Errorf("after the lifetime: code %q, want ExpiredToken", code)
	}
	if keys := m.Keys(); len(keys) != 1 || keys[0] != good.key {
		t.Errorf("keys %v, want only %s", keys, good.key)
	}
}

// TestMemStorageSignedChunks sends a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body,
// which the SDK no longer sends but other clients (the AWS CLI, MinIO's) do.
func TestMemStorageSignedChunks(t *testing.T) {
	m := newMemStorage(t, mapboxsim.MemOptions{})
	c := mint(t, m, "_pending/u/chunks", time.Hour)
	data := randomBytes(t, 100<<10)
	var body bytes.Buffer
	for off := 0; off < len(data); off += 64 << 10 {
		chunk := data[off:min(off+64<<10, len(data))]
		fmt.Fprintf(&body, "%x;chunk-signature=%064d\r\n", len(chunk), 0)
		body.Write(chunk)
		body.WriteString("\r\n")
	}
	fmt.Fprintf(&body, "0;chunk-signature=%064d\r\n\r\n", 0)

	req, err := http.NewRequest(http.MethodPut, m.Endpoint()+"/"+m.Bucket()+"/"+c.key, bytes.NewReader(body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	const streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", streaming)
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
	creds := aws.Credentials{AccessKeyID: c.ak, SecretAccessKey: c.sk, SessionToken: c.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, streaming, "s3", "us-east-1", time.Now(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	resp, err := m.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %s %s", resp.Status, msg)
	}
	if got := readBack(t, m, c.key); !bytes.Equal(got, data) {
		t.Fatal("decoded body differs from the data")
	}
}

func TestMemStorageChecksums(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		m := newMemStorage(t, mapboxsim.MemOptions{TLS: tlsOn})
		c := mint(t, m, "_pending/u/sums", time.Hour)
		cl := s3Client(m, c, aws.RequestChecksumCalculationWhenSupported)
		data := randomBytes(t, 70<<10)
		for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
			types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
			_, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(m.Bucket()), Key: aws.String(c.key),
				Body: bytes.NewReader(data), ChecksumAlgorithm: alg})
			if err != nil {
				t.Errorf("tls=%v %s: %v", tlsOn, alg, err)
			}
		}
		// A wrong checksum is refused.
		_, err := cl.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(m.Bucket()), Key: aws.String(c.key),
			Body: bytes.NewReader(data), ChecksumCRC32: aws.String("AAAAAA==")})
		if code := errorCode(err); code != "BadDigest" {
			t.Errorf("tls=%v wrong CRC32: code %q (%v), want BadDigest", tlsOn, code, err)
		}
	}
}
