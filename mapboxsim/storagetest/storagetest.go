// Package storagetest is the conformance suite of the simulator's storage
// contract (mapboxsim.Storage), in the manner of restic's
// internal/backend/test: one list of tests, run against every store — the
// in-memory one the demo and most tests use (mapboxsim) and a real MinIO
// (internal/miniotest) — with the real aws-sdk-go-v2 S3 client, as a stager
// uses it.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// Store is a storage under test, with the HTTP client that trusts it.
type Store interface {
	mapboxsim.Storage
	HTTPClient() *http.Client
}

// Run runs every test of the contract on the store open returns; open is
// called once per test.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"PutThenOpen", testPutThenOpen},
		{"Multipart", testMultipart},
		{"CredentialsAreScopedToTheKey", testScopedToKey},
		{"WrongSessionTokenRefused", testWrongToken},
		{"OpenMissing", testOpenMissing},
		{"Delete", testDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// key is a fresh object key, so that tests on a shared store do not meet.
func key(t *testing.T, what string) string {
	var b [6]byte
	rand.Read(b[:])
	return "storagetest/" + what + "-" + time.Now().Format("150405") + "-" + string(hexOf(b[:]))
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return out
}

// client is the real S3 client with credentials minted for k.
func client(t *testing.T, s Store, k string, tamper func(token string) string) *s3.Client {
	t.Helper()
	ak, sk, tok, err := s.Mint(t.Context(), k, 15*time.Minute)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if tamper != nil {
		tok = tamper(tok)
	}
	cfg := aws.Config{Region: "us-east-1", HTTPClient: s.HTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, tok)}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint())
		o.UsePathStyle = true
	})
}

func put(ctx context.Context, c *s3.Client, s Store, k string, data []byte) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String(k), Body: bytes.NewReader(data)})
	return err
}

// readBack reads k through the contract's Open and checks its size.
func readBack(t *testing.T, s Store, k string) []byte {
	t.Helper()
	rc, size, err := s.Open(t.Context(), k)
	if err != nil {
		t.Fatalf("Open %s: %v", k, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != size {
		t.Fatalf("Open %s: size %d, read %d bytes", k, size, len(b))
	}
	return b
}

func testPutThenOpen(t *testing.T, s Store) {
	k := key(t, "put")
	data := []byte(`{"type":"FeatureCollection","features":[]}`)
	if err := put(t.Context(), client(t, s, k, nil), s, k, data); err != nil {
		t.Fatalf("PutObject with minted credentials: %v", err)
	}
	if got := readBack(t, s, k); !bytes.Equal(got, data) {
		t.Fatalf("read back %q, want %q", got, data)
	}
}

func testMultipart(t *testing.T, s Store) {
	ctx := t.Context()
	k := key(t, "multipart")
	c := client(t, s, k, nil)
	first, second := make([]byte, 5<<20), make([]byte, 1000)
	rand.Read(first)
	rand.Read(second)
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.Bucket()), Key: aws.String(k)})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	var parts []types.CompletedPart
	for i, data := range [][]byte{first, second} {
		n := int32(i + 1)
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(s.Bucket()), Key: aws.String(k),
			UploadId: mp.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", n, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(s.Bucket()), Key: aws.String(k),
		UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if got := readBack(t, s, k); !bytes.Equal(got, append(first, second...)) {
		t.Fatalf("read back %d bytes that differ from the %d sent", len(got), len(first)+len(second))
	}
}

func testScopedToKey(t *testing.T, s Store) {
	k := key(t, "mine")
	if err := put(t.Context(), client(t, s, k, nil), s, k+"-other", []byte("x")); err == nil {
		t.Fatal("credentials minted for one key wrote another")
	}
}

func testWrongToken(t *testing.T, s Store) {
	k := key(t, "token")
	c := client(t, s, k, func(tok string) string { return "x" + tok[1:] })
	if err := put(t.Context(), c, s, k, []byte("x")); err == nil {
		t.Fatal("a wrong session token was accepted")
	}
}

func testOpenMissing(t *testing.T, s Store) {
	_, _, err := s.Open(t.Context(), key(t, "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing object: %v, want fs.ErrNotExist", err)
	}
}

func testDelete(t *testing.T, s Store) {
	k := key(t, "delete")
	if err := put(t.Context(), client(t, s, k, nil), s, k, []byte("gone soon")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := s.Open(t.Context(), k); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after Delete: %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(t.Context(), k); err != nil {
		t.Fatalf("Delete of a missing object: %v, want nil", err)
	}
}
