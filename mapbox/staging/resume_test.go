package staging_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// saved is what a caller persists through the hooks.
type saved struct {
	mu sync.Mutex
	mp staging.Multipart
}

func (s *saved) hooks(afterPart func(n int)) staging.Hooks {
	return staging.Hooks{
		OnMultipartStarted: func(m staging.Multipart) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.mp = m
		},
		OnPart: func(p staging.Part) {
			s.mu.Lock()
			s.mp.Parts = append(s.mp.Parts, p)
			n := len(s.mp.Parts)
			s.mu.Unlock()
			if afterPart != nil {
				afterPart(n)
			}
		},
	}
}

// state returns the saved state as a restarted caller reads it back.
func (s *saved) state(t testing.TB) *staging.Multipart {
	t.Helper()
	s.mu.Lock()
	b, err := json.Marshal(s.mp)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var m staging.Multipart
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// interrupt starts staging a 17 MiB file (three parts of 5 MiB and one of 2)
// and cancels it once OnPart reported stopAfter parts. It returns the saved
// state, the credentials, and the file.
func interrupt(t *testing.T, s *miniotest.Server, stopAfter int) (*staging.Multipart, mapbox.Credentials, string, []byte) {
	t.Helper()
	path, data := writeFile(t, 17*mib)
	creds := s.Credentials(t, key(t))
	opts := testOptions(s)
	opts.Concurrency = 1 // parts in order: the cut is where the test says
	st, _ := newStager(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sv saved
	_, err := st.Stage(ctx, creds, path, nil, sv.hooks(func(n int) {
		if n == stopAfter {
			cancel()
		}
	}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted staging: %v; want context.Canceled", err)
	}
	mp := sv.state(t)
	if len(mp.Parts) != stopAfter || mp.UploadID == "" {
		t.Fatalf("saved %+v; want %d parts and an upload ID", mp, stopAfter)
	}
	return mp, creds, path, data
}

// onS3 returns the number of parts MinIO holds for the upload.
func onS3(t *testing.T, s *miniotest.Server, key, uploadID string) int {
	t.Helper()
	parts, err := s.Parts(context.Background(), key, uploadID)
	if err != nil {
		t.Fatal(err)
	}
	return len(parts)
}

func TestResumeSendsOnlyMissingParts(t *testing.T) {
	s := miniotest.Shared(t)
	mp, creds, path, data := interrupt(t, s, 2)
	have := onS3(t, s, creds.Key, mp.UploadID)
	if have < 2 {
		t.Fatalf("%d parts on MinIO after 2 were reported", have)
	}

	st, rec := newStager(t, testOptions(s))
	var sv saved
	sv.mp = *mp
	res, err := st.Stage(context.Background(), creds, path, mp, sv.hooks(nil))
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, creds.Key, data)
	if !res.Resumed || res.StartedOver != "" || res.UploadID != mp.UploadID || !strings.HasPrefix(res.Mode(), "resumed") {
		t.Errorf("result %+v (%s); want resumed %s", res, res.Mode(), mp.UploadID)
	}
	if res.PartsReused != have || res.PartsSent != 4-have {
		t.Errorf("reused %d, sent %d; want %d and %d", res.PartsReused, res.PartsSent, have, 4-have)
	}
	if n := rec.count("UploadPart"); n != 4-have {
		t.Errorf("%d UploadPart requests; want %d (4 parts, %d on MinIO)", n, 4-have, have)
	}
	if n := rec.count("CreateMultipartUpload"); n != 0 {
		t.Errorf("%d new uploads created on resume", n)
	}
	if res.SHA256 != sha(data) {
		t.Errorf("sha256 %s, want %s (reused parts are hashed too)", res.SHA256, sha(data))
	}
	if got := len(sv.state(t).Parts); got != 4-have+len(mp.Parts) {
		t.Errorf("%d parts reported in all; want %d", got, 4-have+len(mp.Parts))
	}
}

// A crash between a part and its OnPart leaves S3 ahead of the caller's
// list; a wrong saved ETag is corrected from S3 too.
func TestResumeTrustsS3OverTheSavedList(t *testing.T) {
	s := miniotest.Shared(t)
	mp, creds, path, data := interrupt(t, s, 3)
	have := onS3(t, s, creds.Key, mp.UploadID)
	mp.Parts = mp.Parts[:1]
	mp.Parts[0].ETag = `"0123456789abcdef0123456789abcdef"`
	mp.Parts = append(mp.Parts, staging.Part{Number: 4, ETag: `"ffffffffffffffffffffffffffffffff"`, Size: 2 * mib})

	st, rec := newStager(t, testOptions(s))
	res, err := st.Stage(context.Background(), creds, path, mp, staging.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, creds.Key, data)
	if res.PartsReused != have || rec.count("UploadPart") != 4-have {
		t.Errorf("reused %d, sent %d; want %d reused, %d sent", res.PartsReused, rec.count("UploadPart"), have, 4-have)
	}
}

// A part of the file that changed since it was sent is sent again: its MD5
// no longer matches the part's ETag.
func TestResumeResendsChangedParts(t *testing.T) {
	s := miniotest.Shared(t)
	mp, creds, path, data := interrupt(t, s, 2)
	have := onS3(t, s, creds.Key, mp.UploadID)
	data[10] ^= 0xff // in part 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, rec := newStager(t, testOptions(s))
	res, err := st.Stage(context.Background(), creds, path, mp, staging.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, creds.Key, data)
	if res.PartsReused != have-1 || rec.count("UploadPart") != 4-have+1 {
		t.Errorf("reused %d, sent %d; want %d reused, %d sent", res.PartsReused, rec.count("UploadPart"), have-1, 4-have+1)
	}
	if res.SHA256 != sha(data) {
		t.Errorf("sha256 %s, want %s", res.SHA256, sha(data))
	}
}

func TestResumeStartsOver(t *testing.T) {
	t.Run("size changed", func(t *testing.T) {
		s := miniotest.Shared(t)
		mp, creds, path, data := interrupt(t, s, 1)
		data = append(data, "more"...)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, rec := newStager(t, testOptions(s))
		var sv saved
		res, err := st.Stage(context.Background(), creds, path, mp, sv.hooks(nil))
		if err != nil {
			t.Fatal(err)
		}
		checkObject(t, s, creds.Key, data)
		if res.Resumed || !strings.Contains(res.Mode(), "started over: the file's size changed") {
			t.Errorf("mode %q; want started over because the size changed", res.Mode())
		}
		if sv.mp.UploadID == "" || sv.mp.UploadID == mp.UploadID || res.UploadID != sv.mp.UploadID {
			t.Errorf("new upload %q (result %q), old %q: want a new one reported", sv.mp.UploadID, res.UploadID, mp.UploadID)
		}
		if rec.count("UploadPart") != 4 || rec.count("AbortMultipartUpload") != 1 {
			t.Errorf("%d parts sent, %d aborts; want 4 and the old upload aborted", rec.count("UploadPart"), rec.count("AbortMultipartUpload"))
		}
	})
	t.Run("upload gone", func(t *testing.T) {
		s := miniotest.Shared(t)
		mp, creds, path, data := interrupt(t, s, 1)
		st, rec := newStager(t, testOptions(s))
		if err := st.Abort(context.Background(), creds, mp.UploadID); err != nil {
			t.Fatal(err)
		}
		res, err := st.Stage(context.Background(), creds, path, mp, staging.Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		checkObject(t, s, creds.Key, data)
		if res.Resumed || !strings.Contains(res.Mode(), "NoSuchUpload") {
			t.Errorf("mode %q; want started over because the upload is gone", res.Mode())
		}
		if rec.count("UploadPart") != 4 {
			t.Errorf("%d parts sent; want 4", rec.count("UploadPart"))
		}
	})
	t.Run("other key", func(t *testing.T) {
		s := miniotest.Shared(t)
		mp, _, path, data := interrupt(t, s, 1)
		creds := s.Credentials(t, key(t)+"-new")
		st, _ := newStager(t, testOptions(s))
		res, err := st.Stage(context.Background(), creds, path, mp, staging.Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		checkObject(t, s, creds.Key, data)
		if !strings.Contains(res.Mode(), "started over: the upload is of") {
			t.Errorf("mode %q; want started over because of the key", res.Mode())
		}
	})
}

func TestAbort(t *testing.T) {
	s := miniotest.Shared(t)
	mp, creds, _, _ := interrupt(t, s, 1)
	st, _ := newStager(t, testOptions(s))
	if err := st.Abort(context.Background(), creds, mp.UploadID); err != nil {
		t.Fatal(err)
	}
	if ups, err := s.MultipartUploads(context.Background(), creds.Key); err != nil || len(ups) != 0 {
		t.Errorf("uploads after Abort: %v, %v; want none", ups, err)
	}
	if err := st.Abort(context.Background(), creds, mp.UploadID); err != nil {
		t.Errorf("second Abort: %v; want nil", err)
	}
}
