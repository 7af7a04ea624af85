package staging_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// corrupt returns creds with a session token MinIO does not know. MinIO will
// not issue credentials that expire in under 15 minutes, so a corrupted token
// stands in for an expired one: Mapbox's S3 answers ExpiredToken where MinIO
// answers InvalidTokenId, and both must come back as ErrCredentialsExpired.
func corrupt(c mapbox.Credentials) mapbox.Credentials {
	c.SessionToken = c.SessionToken[:len(c.SessionToken)-8] + "AAAAAAAA"
	return c
}

func TestWrongSessionToken(t *testing.T) {
	s := miniotest.Shared(t)
	for _, tc := range []struct {
		name string
		size int
		op   string
	}{
		{"single PUT", 100 << 10, "PutObject"},
		{"multipart", 6 * mib, "CreateMultipartUpload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := writeFile(t, tc.size)
			st, rec := newStager(t, testOptions(s))
			_, err := st.Stage(context.Background(), corrupt(s.Credentials(t, key(t))), path, nil, staging.Hooks{})
			t.Log(err)
			if !errors.Is(err, mapbox.ErrCredentialsExpired) || !strings.Contains(err.Error(), "InvalidTokenId") {
				t.Fatalf("err = %v; want ErrCredentialsExpired quoting InvalidTokenId", err)
			}
			// Not retried: the same credentials cannot succeed.
			if rec.total() != 1 || rec.count(tc.op) != 1 {
				t.Errorf("%d requests (%d %s); want exactly 1", rec.total(), rec.count(tc.op), tc.op)
			}
		})
	}
}

// Expired credentials make a resume impossible: Stage says so, and the
// caller fetches new credentials and stages from scratch.
func TestResumeWithExpiredCredentials(t *testing.T) {
	s := miniotest.Shared(t)
	mp, creds, path, data := interrupt(t, s, 1)
	st, rec := newStager(t, testOptions(s))
	_, err := st.Stage(context.Background(), corrupt(creds), path, mp, staging.Hooks{})
	t.Log(err)
	if !errors.Is(err, mapbox.ErrCredentialsExpired) || !strings.Contains(err.Error(), "resume upload "+mp.UploadID) {
		t.Fatalf("err = %v; want ErrCredentialsExpired naming the resume", err)
	}
	if rec.count("UploadPart") != 0 {
		t.Errorf("%d parts sent with expired credentials", rec.count("UploadPart"))
	}
	// What the caller does next: new credentials, a new key, a new upload.
	fresh := s.Credentials(t, key(t)+"-fresh")
	res, err := st.Stage(context.Background(), fresh, path, mp, staging.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, fresh.Key, data)
	if res.Resumed || res.StartedOver == "" {
		t.Errorf("mode %q; want started over", res.Mode())
	}
}

// Credentials that do not cover the key (AccessDenied) are classified as
// expired: new credentials are the only remedy (see credentialCodes).
func TestAccessDenied(t *testing.T) {
	s := miniotest.Shared(t)
	path, _ := writeFile(t, 1000)
	creds := s.Credentials(t, key(t))
	creds.Key += "-elsewhere"
	st, _ := newStager(t, testOptions(s))
	_, err := st.Stage(context.Background(), creds, path, nil, staging.Hooks{})
	if !errors.Is(err, mapbox.ErrCredentialsExpired) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v; want ErrCredentialsExpired quoting AccessDenied", err)
	}
}

// Credentials that may PUT but not list parts (Mapbox's might be so): the
// resume trusts the saved list.
func TestResumeWithoutListParts(t *testing.T) {
	s := miniotest.Shared(t)
	mp, creds, path, data := interrupt(t, s, 2)
	id, secret, token, err := s.MintActions(context.Background(), creds.Key, 0, []string{"s3:PutObject", "s3:AbortMultipartUpload"})
	if err != nil {
		t.Fatal(err)
	}
	creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken = id, secret, token
	st, rec := newStager(t, testOptions(s))
	res, err := st.Stage(context.Background(), creds, path, mp, staging.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, creds.Key, data)
	if rec.count("ListParts") != 1 || res.PartsReused != 2 || rec.count("UploadPart") != 2 {
		t.Errorf("%d ListParts, %d reused, %d sent; want 1 (denied), 2, 2", rec.count("ListParts"), res.PartsReused, rec.count("UploadPart"))
	}
}

func TestTransientErrors(t *testing.T) {
	path, _ := writeFile(t, 1000)
	creds := mapbox.Credentials{AccessKeyID: "id", SecretAccessKey: "secret", SessionToken: "token", Bucket: "b", Key: "k"}

	t.Run("5xx", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		st, rec := newStager(t, staging.Options{Endpoint: srv.URL, RetryMaxAttempts: 2})
		_, err := st.Stage(context.Background(), creds, path, nil, staging.Hooks{})
		if !errors.Is(err, mapbox.ErrTransient) {
			t.Fatalf("err = %v; want ErrTransient", err)
		}
		if rec.total() != 2 {
			t.Errorf("%d attempts; want 2 (retried by the SDK)", rec.total())
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		st, _ := newStager(t, staging.Options{Endpoint: "http://" + addr, RetryMaxAttempts: 1})
		_, err = st.Stage(context.Background(), creds, path, nil, staging.Hooks{})
		if !errors.Is(err, mapbox.ErrTransient) {
			t.Fatalf("err = %v; want ErrTransient", err)
		}
	})
}

func TestChecksumSetting(t *testing.T) {
	s := miniotest.Shared(t)
	for _, cs := range []staging.Checksum{staging.ChecksumWhenSupported, staging.ChecksumWhenRequired} {
		for _, size := range []int{100 << 10, 11 * mib} {
			t.Run(string(cs)+"/"+map[bool]string{true: "multipart", false: "single"}[size > 5*mib], func(t *testing.T) {
				path, data := writeFile(t, size)
				opts := testOptions(s)
				opts.Checksum = cs
				st, rec := newStager(t, opts)
				var sv saved
				res, err := st.Stage(context.Background(), s.Credentials(t, key(t)), path, nil, sv.hooks(nil))
				if err != nil {
					t.Fatal(err)
				}
				checkObject(t, s, key(t), data)
				op := map[bool]string{true: "UploadPart", false: "PutObject"}[res.Multipart]
				if len(rec.requests(op)) == 0 {
					t.Fatalf("no %s request recorded", op)
				}
				for _, r := range rec.requests(op) {
					sent := r.header.Get("X-Amz-Checksum-Crc32") != "" ||
						strings.Contains(strings.ToLower(r.header.Get("X-Amz-Trailer")), "crc32")
					if want := cs == staging.ChecksumWhenSupported; sent != want {
						t.Errorf("%s with %s: CRC32 sent %v, want %v (headers %v)", op, cs, sent, want, r.header)
					}
				}
				if res.Multipart {
					if want := map[bool]string{true: "CRC32", false: ""}[cs == staging.ChecksumWhenSupported]; sv.mp.Checksum != want {
						t.Errorf("upload checksum %q, want %q", sv.mp.Checksum, want)
					}
				}
			})
		}
	}
}

// An upload made with one checksum setting is not resumed with the other.
func TestResumeWithOtherChecksumSetting(t *testing.T) {
	s := miniotest.Shared(t)
	mp, creds, path, data := interrupt(t, s, 1)
	opts := testOptions(s)
	opts.Checksum = staging.ChecksumWhenRequired
	st, _ := newStager(t, opts)
	res, err := st.Stage(context.Background(), creds, path, mp, staging.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, creds.Key, data)
	if !strings.Contains(res.Mode(), "checksum") {
		t.Errorf("mode %q; want started over because of the checksum", res.Mode())
	}
}
