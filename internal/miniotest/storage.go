package miniotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// StagingActions are what minted credentials allow on exactly bucket/key: a
// single or multipart PUT, aborting it, and listing its parts (which a
// resumed upload needs). Like Mapbox's credentials, they allow no read, no
// listing of the bucket and no other key.
var StagingActions = []string{
	"s3:PutObject", // also CreateMultipartUpload, UploadPart, CompleteMultipartUpload
	"s3:AbortMultipartUpload",
	"s3:ListMultipartUploadParts",
}

// Lifetimes of minted credentials are rounded into STS's bounds.
const (
	MinLifetime = 15 * time.Minute
	MaxLifetime = 12 * time.Hour
)

// Endpoint is the S3 endpoint URL, for path-style addressing.
func (s *Server) Endpoint() string { return s.endpoint }

// Bucket is the staging bucket; it exists.
func (s *Server) Bucket() string { return s.bucket }

// Root is an S3 client with the root credentials: it can do anything.
func (s *Server) Root() *s3.Client { return s.root }

// Mint returns temporary credentials from MinIO's STS AssumeRole that allow
// StagingActions on bucket/key only, valid for lifetime rounded into
// [MinLifetime, MaxLifetime].
func (s *Server) Mint(ctx context.Context, key string, lifetime time.Duration) (accessKeyID, secretAccessKey, sessionToken string, err error) {
	return s.MintActions(ctx, key, lifetime, StagingActions)
}

// MintActions is Mint with a chosen list of allowed S3 actions on bucket/key.
func (s *Server) MintActions(ctx context.Context, key string, lifetime time.Duration, actions []string) (accessKeyID, secretAccessKey, sessionToken string, err error) {
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":   "Allow",
			"Action":   actions,
			"Resource": []string{fmt.Sprintf("arn:aws:s3:::%s/%s", s.bucket, key)},
		}},
	})
	if err != nil {
		return "", "", "", err
	}
	lifetime = min(max(lifetime, MinLifetime), MaxLifetime)
	out, err := s.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::000000000000:role/tilesyncd-staging"),
		RoleSessionName: aws.String("tilesyncd-test"),
		DurationSeconds: aws.Int32(int32(lifetime / time.Second)),
		Policy:          aws.String(string(policy)),
	})
	if err != nil {
		return "", "", "", fmt.Errorf("miniotest: AssumeRole for %s: %w", key, err)
	}
	c := out.Credentials
	return aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken), nil
}

// Credentials mints staging credentials for key as Mapbox's credentials
// endpoint would return them, failing tb on error.
func (s *Server) Credentials(tb testing.TB, key string) mapbox.Credentials {
	tb.Helper()
	id, secret, token, err := s.Mint(context.Background(), key, MinLifetime)
	if err != nil {
		tb.Fatal(err)
	}
	return mapbox.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		SessionToken:    token,
		Bucket:          s.bucket,
		Key:             key,
		URL:             fmt.Sprintf("%s/%s/%s", s.endpoint, s.bucket, key),
	}
}

// Open reads a staged object; for a missing one the error wraps fs.ErrNotExist.
func (s *Server) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	out, err := s.root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return nil, 0, fmt.Errorf("miniotest: open %s: %w", key, fs.ErrNotExist)
		}
		return nil, 0, fmt.Errorf("miniotest: open %s: %w", key, err)
	}
	return out.Body, aws.ToInt64(out.ContentLength), nil
}

// ReadAll returns a staged object's bytes.
func (s *Server) ReadAll(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Delete removes a staged object; a missing one is not an error.
func (s *Server) Delete(ctx context.Context, key string) error {
	_, err := s.root.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("miniotest: delete %s: %w", key, err)
	}
	return nil
}

// MultipartUploads lists the multipart uploads in progress for key.
func (s *Server) MultipartUploads(ctx context.Context, key string) ([]types.MultipartUpload, error) {
	var uploads []types.MultipartUpload
	p := s3.NewListMultipartUploadsPaginator(s.root, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(key),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("miniotest: list multipart uploads of %s: %w", key, err)
		}
		for _, u := range page.Uploads {
			if aws.ToString(u.Key) == key {
				uploads = append(uploads, u)
			}
		}
	}
	return uploads, nil
}

// Parts lists the parts MinIO holds for a multipart upload of key.
func (s *Server) Parts(ctx context.Context, key, uploadID string) ([]types.Part, error) {
	var parts []types.Part
	p := s3.NewListPartsPaginator(s.root, &s3.ListPartsInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("miniotest: list parts of %s: %w", key, err)
		}
		parts = append(parts, page.Parts...)
	}
	return parts, nil
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	return errors.As(err, &nsk) || errors.As(err, &nf) ||
		(errors.As(err, &api) && api.ErrorCode() == "NoSuchKey")
}
