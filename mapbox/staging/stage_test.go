package staging_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

func TestSmallFileIsOnePut(t *testing.T) {
	s := miniotest.Shared(t)
	path, data := writeFile(t, 300<<10)
	st, rec := newStager(t, testOptions(s))
	var last, total int64
	res, err := st.Stage(context.Background(), s.Credentials(t, key(t)), path, nil, staging.Hooks{
		OnProgress:         func(sent, tot int64) { last, total = sent, tot },
		OnMultipartStarted: func(staging.Multipart) { t.Error("OnMultipartStarted for a small file") },
	})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, key(t), data)
	if res.SHA256 != sha(data) || res.Size != int64(len(data)) || res.Multipart || res.Mode() != "single PUT" {
		t.Errorf("result %+v; want sha256 %s, %d bytes, single PUT", res, sha(data), len(data))
	}
	if n := rec.count("PutObject"); n != 1 || rec.total() != 1 {
		t.Errorf("%d PUTs in %d requests; want 1 in 1", n, rec.total())
	}
	if last != int64(len(data)) || total != int64(len(data)) {
		t.Errorf("last progress %d/%d; want %d/%d", last, total, len(data), len(data))
	}
}

func TestEmptyFile(t *testing.T) {
	s := miniotest.Shared(t)
	path, data := writeFile(t, 0)
	st, _ := newStager(t, testOptions(s))
	res, err := st.Stage(context.Background(), s.Credentials(t, key(t)), path, nil, staging.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, key(t), data)
	if res.SHA256 != sha(nil) {
		t.Errorf("sha256 %s, want %s", res.SHA256, sha(nil))
	}
}

func TestMultipart(t *testing.T) {
	s := miniotest.Shared(t)
	path, data := writeFile(t, 18*mib+12345) // parts of 5, 5, 5 and 3 MiB
	st, rec := newStager(t, testOptions(s))

	var (
		mu       sync.Mutex
		events   []string
		started  staging.Multipart
		parts    []staging.Part
		progress []int64
	)
	res, err := st.Stage(context.Background(), s.Credentials(t, key(t)), path, nil, staging.Hooks{
		OnMultipartStarted: func(m staging.Multipart) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, "started")
			started = m
		},
		OnPart: func(p staging.Part) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, "part")
			parts = append(parts, p)
		},
		OnProgress: func(sent, total int64) { progress = append(progress, sent) },
	})
	if err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, key(t), data)
	if res.SHA256 != sha(data) || !res.Multipart || res.PartsSent != 4 || res.PartsReused != 0 || res.Mode() != "new multipart upload" {
		t.Errorf("result %+v (%s); want 4 parts sent, sha256 %s", res, res.Mode(), sha(data))
	}
	if len(events) != 5 || events[0] != "started" {
		t.Errorf("hooks called %v; want started, then 4 parts", events)
	}
	if started.UploadID == "" || started.UploadID != res.UploadID || started.PartSize != 5*mib || started.Size != int64(len(data)) {
		t.Errorf("OnMultipartStarted got %+v", started)
	}
	var sum int64
	for _, p := range parts {
		sum += p.Size
		if p.ETag == "" || p.ChecksumCRC32 == "" {
			t.Errorf("part %+v lacks its ETag or CRC32", p)
		}
	}
	if sum != int64(len(data)) {
		t.Errorf("parts add up to %d bytes, want %d", sum, len(data))
	}
	if n := rec.count("UploadPart"); n != 4 {
		t.Errorf("%d UploadPart requests, want 4", n)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Fatalf("progress went back: %v", progress)
		}
	}
	// More than one report per part, so a progress line moves within a part.
	if len(progress) < 8 || progress[len(progress)-1] != int64(len(data)) {
		t.Errorf("%d progress reports ending at %v; want at least 8 ending at %d", len(progress), progress[len(progress)-1:], len(data))
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []staging.Options{
		{PartSize: 4 * mib},
		{PartSize: 6 << 30},
		{MultipartThreshold: 6 << 30},
		{Checksum: "always"},
		{Concurrency: -1},
	} {
		if _, err := staging.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	if _, err := staging.New(staging.Options{PartSize: 1, AllowSmallParts: true}); err != nil {
		t.Errorf("AllowSmallParts: %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	s := miniotest.Shared(t)
	st, rec := newStager(t, testOptions(s))
	path := t.TempDir() + "/gone.mbtiles"
	_, err := st.Stage(context.Background(), s.Credentials(t, key(t)), path, nil, staging.Hooks{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v; want one naming %s", err, path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v; want fs.ErrNotExist", err)
	}
	if rec.total() != 0 {
		t.Errorf("%d requests for a missing file", rec.total())
	}
}

// Staging allocates about Concurrency × PartSize, not the file's size.
func TestMemoryIsBounded(t *testing.T) {
	s := miniotest.Shared(t)
	const size = 48 * mib
	path, _ := writeFile(t, size)
	st, _ := newStager(t, testOptions(s)) // 2 parts of 5 MiB at once
	creds := s.Credentials(t, key(t))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := st.Stage(context.Background(), creds, path, nil, staging.Hooks{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("staging %d MiB allocated %.1f MiB", size/mib, float64(alloc)/mib)
	if alloc > 20*mib {
		t.Errorf("staging %d MiB allocated %.1f MiB; want about 10 (2 × 5 MiB parts)", size/mib, float64(alloc)/mib)
	}
}

func TestFileShrinksWhileStaging(t *testing.T) {
	s := miniotest.Shared(t)
	path, _ := writeFile(t, 17*mib)
	st, _ := newStager(t, testOptions(s))
	_, err := st.Stage(context.Background(), s.Credentials(t, key(t)), path, nil, staging.Hooks{
		// Called before the first byte is read.
		OnMultipartStarted: func(staging.Multipart) {
			if err := os.Truncate(path, 7*mib); err != nil {
				t.Error(err)
			}
		},
	})
	t.Log(err)
	if !errors.Is(err, mapbox.ErrTransient) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("err = %v; want ErrTransient naming %s and saying it shrank", err, path)
	}
}
