package staging

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// create starts a new multipart upload.
func (u *upload) create(ctx context.Context) (*Multipart, error) {
	out, err := u.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(u.creds.Bucket),
		Key:               aws.String(u.creds.Key),
		ChecksumAlgorithm: u.algorithm,
	})
	if err != nil {
		return nil, u.classify(ctx, "create multipart upload of "+objectName(u.creds), err)
	}
	mp := &Multipart{
		Bucket:   u.creds.Bucket,
		Key:      u.creds.Key,
		UploadID: aws.ToString(out.UploadId),
		PartSize: partSizeFor(u.size, u.partSize),
		Size:     u.size,
		Checksum: string(u.algorithm),
	}
	u.log.Info("staging: new multipart upload", "upload_id", mp.UploadID, "bytes", u.size, "part_size", mp.PartSize)
	return mp, nil
}

func (u *upload) classify(ctx context.Context, op string, err error) error {
	return classify(ctx, op, u.creds.SessionToken != "", err)
}

// prepareResume decides whether mp can be resumed. It returns the parts S3
// holds that have the size their number calls for, or why a new upload is
// needed. An error means neither is possible: with expired credentials the
// upload cannot even be listed, and only new credentials help.
func (u *upload) prepareResume(ctx context.Context, mp *Multipart) (reuse map[int32]Part, startOver string, err error) {
	switch {
	case mp.Bucket != u.creds.Bucket || mp.Key != u.creds.Key:
		return nil, fmt.Sprintf("the upload is of s3://%s/%s, the credentials are for %s", mp.Bucket, mp.Key, objectName(u.creds)), nil
	case mp.UploadID == "":
		return nil, "the resume state has no upload ID", nil
	case mp.Size != u.size:
		return nil, fmt.Sprintf("the file's size changed from %d to %d bytes", mp.Size, u.size), u.abandon(ctx, mp)
	case u.size == 0:
		return nil, "the file is empty", u.abandon(ctx, mp)
	case mp.Checksum != string(u.algorithm):
		return nil, fmt.Sprintf("the upload's checksum is %q, the setting wants %q", mp.Checksum, u.algorithm), u.abandon(ctx, mp)
	case mp.PartSize <= 0 || mp.PartSize > MaxPartSize || (mp.PartSize < MinPartSize && !u.smallParts) ||
		(u.size+mp.PartSize-1)/mp.PartSize > MaxParts:
		return nil, fmt.Sprintf("part size %d does not suit %d bytes", mp.PartSize, u.size), u.abandon(ctx, mp)
	}

	onS3, err := u.listParts(ctx, mp.UploadID)
	switch {
	case apiCode(err) == "NoSuchUpload":
		return nil, fmt.Sprintf("upload %s is gone (NoSuchUpload)", mp.UploadID), nil
	case apiCode(err) == "AccessDenied":
		// Credentials that may PUT but not list the parts: fall back on the
		// caller's list. Complete fails if it is wrong, and the caller then
		// stages from scratch.
		u.log.Warn("staging: cannot list the parts of the upload; trusting the saved list", "upload_id", mp.UploadID)
		onS3 = mp.Parts
	case err != nil:
		return nil, "", u.classify(ctx, fmt.Sprintf("resume upload %s: list parts of %s", mp.UploadID, objectName(u.creds)), err)
	}

	reuse = make(map[int32]Part, len(onS3))
	for _, p := range onS3 {
		if p.Size == u.partSizeOf(mp, p.Number) {
			reuse[p.Number] = p
		}
	}
	// S3 is the truth; the differences only tell how far the caller's
	// record lagged behind (a crash between a part and its OnPart).
	missing := 0
	for _, p := range mp.Parts {
		if q, ok := reuse[p.Number]; !ok || trimETag(q.ETag) != trimETag(p.ETag) {
			missing++
		}
	}
	u.log.Info("staging: resuming", "upload_id", mp.UploadID, "parts_on_s3", len(reuse),
		"parts_saved", len(mp.Parts), "saved_not_on_s3", missing)
	return reuse, "", nil
}

// abandon aborts an upload that will not be resumed, so that S3 drops its
// parts. Failing to is not an error (the bucket's lifecycle rules clean up),
// unless the caller cancelled.
func (u *upload) abandon(ctx context.Context, mp *Multipart) error {
	if _, err := u.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(mp.Bucket),
		Key:      aws.String(mp.Key),
		UploadId: aws.String(mp.UploadID),
	}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		u.log.Debug("staging: could not abort the abandoned upload", "upload_id", mp.UploadID, "err", err)
	}
	return nil
}

// listParts returns the parts S3 holds for uploadID.
func (u *upload) listParts(ctx context.Context, uploadID string) ([]Part, error) {
	var parts []Part
	p := s3.NewListPartsPaginator(u.s3, &s3.ListPartsInput{
		Bucket:   aws.String(u.creds.Bucket),
		Key:      aws.String(u.creds.Key),
		UploadId: aws.String(uploadID),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, q := range page.Parts {
			parts = append(parts, Part{
				Number:        aws.ToInt32(q.PartNumber),
				ETag:          aws.ToString(q.ETag),
				Size:          aws.ToInt64(q.Size),
				ChecksumCRC32: aws.ToString(q.ChecksumCRC32),
			})
		}
	}
	return parts, nil
}

// partSizeOf returns the size part n of mp must have (0 past the end).
func (u *upload) partSizeOf(mp *Multipart, n int32) int64 {
	off := int64(n-1) * mp.PartSize
	if n < 1 || off >= mp.Size {
		return 0
	}
	return min(mp.PartSize, mp.Size-off)
}

// job is one part to send; buf comes from the pool and goes back to it.
type job struct {
	number int32
	buf    []byte
}

// multipart sends the parts of mp that reuse lacks, then completes the
// upload. One goroutine reads the file in order into at most Concurrency
// part buffers; Concurrency workers send them. It is long because the
// reader and the workers share the buffers, the progress and the first error.
func (u *upload) multipart(ctx context.Context, mp *Multipart, reuse map[int32]Part, res *Result) error {
	res.Multipart, res.UploadID, res.PartSize = true, mp.UploadID, mp.PartSize
	count := int32((mp.Size + mp.PartSize - 1) / mp.PartSize)
	workers := min(u.concurrency, int(count))

	var (
		mu      sync.Mutex
		parts   = make([]Part, 0, count)
		changed int // parts on S3 that differ from the file, sent again
	)
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan job)
	pool := make(chan []byte, workers)
	for range workers {
		pool <- nil // allocated on first use: a small file needs fewer
	}

	g.Go(func() error {
		defer close(jobs)
		for n := int32(1); n <= count; n++ {
			var buf []byte
			select {
			case buf = <-pool:
			case <-gctx.Done():
				return context.Cause(gctx)
			}
			if buf == nil {
				buf = make([]byte, mp.PartSize)
			}
			size := u.partSizeOf(mp, n)
			if err := u.read(buf[:size], n); err != nil {
				return err
			}
			if p, ok := reuse[n]; ok {
				if sameContent(p.ETag, buf[:size]) {
					mu.Lock()
					parts = append(parts, p)
					res.PartsReused++
					mu.Unlock()
					u.progress.add(size, false)
					pool <- buf
					continue
				}
				changed++
			}
			select {
			case jobs <- job{number: n, buf: buf[:size]}:
			case <-gctx.Done():
				return context.Cause(gctx)
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			for j := range jobs {
				p, err := u.uploadPart(gctx, mp, j)
				pool <- j.buf[:cap(j.buf)]
				if err != nil {
					return err
				}
				mu.Lock()
				parts = append(parts, p)
				res.PartsSent++
				mu.Unlock()
				u.hooks.part(p)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("upload %s: %w", mp.UploadID, context.Cause(ctx))
		}
		return err
	}
	if changed > 0 {
		u.log.Warn("staging: parts on S3 differed from the file and were sent again",
			"upload_id", mp.UploadID, "parts", changed)
	}
	if err := u.complete(ctx, mp, parts); err != nil {
		return err
	}
	u.progress.add(0, true)
	res.SHA256 = hex.EncodeToString(u.sha.Sum(nil))
	u.log.Info("staging: multipart upload complete", "upload_id", mp.UploadID,
		"parts_sent", res.PartsSent, "parts_reused", res.PartsReused)
	return nil
}

func (u *upload) uploadPart(ctx context.Context, mp *Multipart, j job) (Part, error) {
	size := int64(len(j.buf))
	pp := &partProgress{p: u.progress, size: size}
	out, err := u.s3.UploadPart(withPartProgress(ctx, pp), &s3.UploadPartInput{
		Bucket:            aws.String(mp.Bucket),
		Key:               aws.String(mp.Key),
		UploadId:          aws.String(mp.UploadID),
		PartNumber:        aws.Int32(j.number),
		Body:              bytes.NewReader(j.buf),
		ContentLength:     aws.Int64(size),
		ChecksumAlgorithm: u.algorithm,
	})
	if err != nil {
		return Part{}, u.classify(ctx, fmt.Sprintf("upload part %d of %s", j.number, objectName(u.creds)), err)
	}
	pp.done()
	return Part{
		Number:        j.number,
		ETag:          aws.ToString(out.ETag),
		Size:          size,
		ChecksumCRC32: aws.ToString(out.ChecksumCRC32),
	}, nil
}

func (u *upload) complete(ctx context.Context, mp *Multipart, parts []Part) error {
	slices.SortFunc(parts, func(a, b Part) int { return int(a.Number - b.Number) })
	completed := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		completed[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
		if mp.Checksum != "" && p.ChecksumCRC32 != "" {
			completed[i].ChecksumCRC32 = aws.String(p.ChecksumCRC32)
		}
	}
	_, err := u.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(mp.Bucket),
		Key:             aws.String(mp.Key),
		UploadId:        aws.String(mp.UploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		return u.classify(ctx, fmt.Sprintf("complete upload %s of %s", mp.UploadID, objectName(u.creds)), err)
	}
	return nil
}

// sameContent reports whether data matches a part's ETag. S3 gives a part
// the MD5 of its bytes as ETag, except with SSE-KMS or SSE-C encryption:
// an ETag that is not an MD5 cannot be checked, and the part is trusted.
func sameContent(etag string, data []byte) bool {
	e := trimETag(etag)
	if len(e) != 2*md5.Size || strings.Trim(strings.ToLower(e), "0123456789abcdef") != "" {
		return true
	}
	sum := md5.Sum(data)
	return strings.EqualFold(e, hex.EncodeToString(sum[:]))
}

func trimETag(etag string) string { return strings.Trim(etag, `"`) }
