package staging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

// Multipart is the resume state of a multipart upload: a plain value the
// caller persists (it marshals to JSON) and hands back to Stage after a
// restart or a network loss.
type Multipart struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"uploadId"`
	// PartSize of every part but the last.
	PartSize int64 `json:"partSize"`
	// Size of the file being staged.
	Size int64 `json:"size"`
	// Checksum is the upload's checksum algorithm, "CRC32" or "".
	Checksum string `json:"checksum,omitempty"`
	// Parts S3 has accepted, as reported by OnPart.
	Parts []Part `json:"parts,omitempty"`
}

// Part is one part S3 has accepted.
type Part struct {
	Number int32  `json:"number"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
	// ChecksumCRC32 is S3's checksum of the part when the upload has one.
	ChecksumCRC32 string `json:"crc32,omitempty"`
}

// Result describes a completed staging.
type Result struct {
	// SHA256 (hex) of the bytes sent: the whole object as staged, reused
	// parts included (they are read and hashed, not sent).
	SHA256 string
	Size   int64
	// Multipart is false for a single PUT.
	Multipart bool
	UploadID  string
	PartSize  int64
	// PartsSent in this call, PartsReused from an earlier one.
	PartsSent, PartsReused int
	// Resumed is true when the resume state given to Stage was used.
	Resumed bool
	// StartedOver says why a resume state given to Stage was not used.
	StartedOver string
}

// Mode is a short account of what happened: "single PUT", "new multipart
// upload", "resumed (12 parts reused, 3 sent)" or "started over: <why>".
func (r Result) Mode() string {
	switch {
	case r.StartedOver != "":
		return "started over: " + r.StartedOver
	case r.Resumed:
		return fmt.Sprintf("resumed (%d parts reused, %d sent)", r.PartsReused, r.PartsSent)
	case r.Multipart:
		return "new multipart upload"
	default:
		return "single PUT"
	}
}

// upload is one Stage call.
type upload struct {
	*Stager
	creds     mapbox.Credentials
	s3        *s3.Client
	path      string
	f         *os.File
	size      int64
	algorithm types.ChecksumAlgorithm // "" or CRC32
	hooks     *hookCaller
	progress  *progress
	sha       hash.Hash
	log       *slog.Logger
}

// Stage uploads the file at path to creds' bucket/key and returns what it
// did. It blocks until the object is complete on S3 or an error occurs.
//
// Files below the multipart threshold go in one PUT; others in a multipart
// upload, reported through hooks.OnMultipartStarted before any part is sent
// and hooks.OnPart after each part. Given resume, the state of an earlier
// multipart upload with the same credentials, Stage verifies with S3 which
// parts it holds and sends only the others; when the state cannot be used
// (another size or key, the upload gone) it starts a new upload and says why
// in Result.StartedOver.
//
// Every error wraps one of mapbox's error classes: mapbox.ErrCredentialsExpired
// means new credentials, and a fresh staging with them, are needed (a resume
// is impossible); local file errors wrap mapbox.ErrTransient and the
// *fs.PathError. When ctx is cancelled, Stage returns an error wrapping ctx's
// error (context.Canceled), and the multipart upload stays resumable: Stage
// never aborts one (see Abort).
//
// The file is read once, sequentially, up to the size it had when Stage
// began; Stage does not notice other changes: compare Result.SHA256.
func (s *Stager) Stage(ctx context.Context, creds mapbox.Credentials, path string, resume *Multipart, hooks Hooks) (Result, error) {
	res, err := s.stage(ctx, creds, path, resume, hooks)
	if err != nil {
		return res, fmt.Errorf("stage %s: %w", path, err)
	}
	return res, nil
}

func (s *Stager) stage(ctx context.Context, creds mapbox.Credentials, path string, resume *Multipart, hooks Hooks) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", mapbox.ErrTransient, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", mapbox.ErrTransient, err)
	}
	u := &upload{
		Stager: s,
		creds:  creds,
		s3:     s.client(creds),
		path:   path,
		f:      f,
		size:   fi.Size(),
		hooks:  &hookCaller{h: hooks},
		sha:    sha256.New(),
		log:    s.log.With("path", path, "key", creds.Key),
	}
	if s.checksum == ChecksumWhenSupported {
		u.algorithm = types.ChecksumAlgorithmCrc32
	}
	u.progress = &progress{total: u.size, hooks: u.hooks}
	if u.size > MaxParts*MaxPartSize {
		return Result{}, fmt.Errorf("%d bytes is more than S3 takes in one object: %w", u.size, mapbox.ErrInvalid)
	}

	res := Result{Size: u.size}
	if resume != nil {
		reuse, why, err := u.prepareResume(ctx, resume)
		if err != nil {
			return res, err
		}
		if why == "" {
			res.Resumed = true
			return res, u.multipart(ctx, resume, reuse, &res)
		}
		res.StartedOver = why
		u.log.Info("staging: not resuming", "upload_id", resume.UploadID, "reason", why)
	}
	if u.size < s.threshold {
		return res, u.single(ctx, &res)
	}
	mp, err := u.create(ctx)
	if err != nil {
		return res, err
	}
	u.hooks.started(*mp)
	return res, u.multipart(ctx, mp, nil, &res)
}

// single sends the file in one PUT. Memory: the file's size, below the
// multipart threshold.
func (u *upload) single(ctx context.Context, res *Result) error {
	buf := make([]byte, u.size)
	if err := u.read(buf, 1); err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:            aws.String(u.creds.Bucket),
		Key:               aws.String(u.creds.Key),
		Body:              bytes.NewReader(buf),
		ContentLength:     aws.Int64(u.size),
		ChecksumAlgorithm: u.algorithm,
	}
	pp := &partProgress{p: u.progress, size: u.size}
	if _, err := u.s3.PutObject(withPartProgress(ctx, pp), in); err != nil {
		return classify(ctx, "put "+objectName(u.creds), u.creds.SessionToken != "", err)
	}
	pp.done()
	u.progress.add(0, true)
	res.SHA256 = hex.EncodeToString(u.sha.Sum(nil))
	res.PartsSent = 1
	u.log.Debug("staging: put", "bytes", u.size)
	return nil
}

// read fills buf with the next bytes of the file and hashes them.
func (u *upload) read(buf []byte, part int32) error {
	if _, err := io.ReadFull(u.f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("read part %d: the file shrank while staging (it had %d bytes): %w: %w", part, u.size, mapbox.ErrTransient, err)
		}
		return fmt.Errorf("read part %d: %w: %w", part, mapbox.ErrTransient, err)
	}
	u.sha.Write(buf)
	return nil
}

// partSizeFor returns want, raised to whole MiB as needed for size bytes to
// fit in MaxParts parts.
func partSizeFor(size, want int64) int64 {
	if need := (size + MaxParts - 1) / MaxParts; want < need {
		return (need + partRound - 1) / partRound * partRound
	}
	return want
}
