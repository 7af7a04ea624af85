package mapbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
)

// lengthRecorder is a RoundTripper that notes the Content-Length of each
// request it passes on to the real transport.
type lengthRecorder struct {
	mu   sync.Mutex
	seen []int64
	next http.RoundTripper
}

func (l *lengthRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.seen = append(l.seen, r.ContentLength)
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *lengthRecorder) last() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[len(l.seen)-1]
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMTSUploadStreams: an upload is streamed from the caller's reader,
// with a Content-Length when its size is known (a file, from its offset; a
// reader with Len), chunked otherwise; a failing reader fails the call
// with its error.
func TestMTSUploadStreams(t *testing.T) {
	rec := &lengthRecorder{next: mapbox.NewHTTPClient().Transport}
	e := newEnv(t, mapboxsim.Options{}, mapbox.Options{HTTPClient: &http.Client{Transport: rec}})
	c, ctx := e.client, context.Background()
	data := strings.Repeat("\n", 10) + geojsonLines(1, 2000) // blank lines are allowed
	path := filepath.Join(t.TempDir(), "parcels.geojson.ld")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(what, want string, wantLen bool) {
		t.Helper()
		got, ok := e.srv.SourceSHA256("src")
		if !ok || got != want {
			t.Errorf("%s: the server holds %s, want %s", what, got, want)
		}
		if n := rec.last(); wantLen != (n > 0) {
			t.Errorf("%s: Content-Length %d, want known %v", what, n, wantLen)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.ReplaceSource(ctx, "src", f)
	f.Close()
	if err != nil || info.FileSize != int64(len(data)) {
		t.Fatalf("a file: %+v, %v", info, err)
	}
	check("a file", sha(data), true)
	if n := rec.last(); n <= int64(len(data)) || n > int64(len(data))+400 {
		t.Errorf("Content-Length %d for a %d-byte file", n, len(data))
	}
	f, _ = os.Open(path)
	f.Seek(10, io.SeekStart)
	_, err = c.ReplaceSource(ctx, "src", f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	check("a file from offset 10", sha(data[10:]), true)
	if _, err := c.ReplaceSource(ctx, "src", io.MultiReader(strings.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	check("a reader of unknown size", sha(data), false)

	// A file that grows while it is read: more bytes than its size said.
	_, err = c.ReplaceSource(ctx, "src", grownReader{strings.NewReader(data + geojsonLines(5000, 1))})
	if !errors.Is(err, mapbox.ErrTransient) {
		t.Fatalf("a file that grew: %v, want a transient failure", err)
	}
	check("after a file that grew", sha(data), true)

	boom := errors.New("disk on fire")
	_, err = c.ReplaceSource(ctx, "src", io.MultiReader(strings.NewReader(data[:5000]), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || !errors.Is(err, mapbox.ErrTransient) || !strings.Contains(err.Error(), "src") {
		t.Fatalf("a failing reader: %v, want its error, transient, naming the source", err)
	}
	if n := len(e.srv.SourceUploads()); n != 3 {
		t.Errorf("%d uploads stored, want 3", n)
	}
}

// grownReader says it holds fewer bytes than it does, as a file that grows
// after its size was read.
type grownReader struct{ *strings.Reader }

func (g grownReader) Len() int { return g.Reader.Len() - 100 }

// TestMTSTokenNeverLeaks fails MTS requests of every kind with a
// distinctive token and looks for it in every error and log line.
func TestMTSTokenNeverLeaks(t *testing.T) {
	token := "sk.eyJ1IjoiTEVBSy1NRS1JRi1ZT1UtQ0FOIn0.Zm9vYmFy+/="
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var mu sync.Mutex
	var observed []error
	e := newEnv(t, mapboxsim.Options{MTS: mapboxsim.MTSOptions{MaxFileSize: 400}}, mapbox.Options{})
	e.srv.AddToken(token, mapboxsim.ScopeTilesetsWrite, mapboxsim.ScopeTilesetsRead, mapboxsim.ScopeTilesetsList)
	opts := mapbox.Options{BaseURL: e.srv.URL(), Username: "alice", Token: token, Logger: logger,
		Observe: func(x mapbox.Exchange) {
			mu.Lock()
			defer mu.Unlock()
			observed = append(observed, x.Err)
		}}
	c := newClient(t, opts)
	badOpts := opts
	badOpts.Token = token + "-wrong"
	bad := newClient(t, badOpts)
	ctx := context.Background()
	var errs []error
	for _, cl := range []*mapbox.Client{bad, c} {
		errs = append(errs, everyMTSCall(ctx, cl)...)
	}
	// 409, 429, over a limit, dropped mid-upload, 5xx, a timeout.
	if _, err := c.ReplaceSource(ctx, "src", strings.NewReader(geojsonLines(1, 1))); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTileset(ctx, "alice.parks", mapbox.NewTileset{Recipe: mtsRecipe("src", 0, 5), Name: "p"}); err != nil {
		t.Fatal(err)
	}
	c.Publish(ctx, "alice.parks")
	e.clock.Advance(time.Second)
	_, err := c.AppendSource(ctx, "src", strings.NewReader(geojsonLines(1, 1)))
	errs = append(errs, err)
	_, err = c.Publish(ctx, "alice.parks")
	errs = append(errs, err)
	_, err = c.ReplaceSource(ctx, "big", strings.NewReader(geojsonLines(1, 10)))
	errs = append(errs, err)
	e.srv.DropMidUpload("", 1, 50)
	_, err = c.ReplaceSource(ctx, "other", strings.NewReader(geojsonLines(1, 3)))
	errs = append(errs, err)
	e.srv.FailNext("", 1, http.StatusBadGateway)
	_, err = c.Queue(ctx)
	errs = append(errs, err)
	e.srv.SetDelay(5 * time.Second)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.Job(short, "alice.parks", "j")
	cancel()
	e.srv.SetDelay(0)
	errs = append(errs, err)

	forms := []string{token, url.QueryEscape(token), url.PathEscape(token)}
	check := func(what, s string) {
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("token found in %s: %s", what, s)
			}
		}
	}
	failures := 0
	mu.Lock()
	defer mu.Unlock()
	for i, err := range append(errs, observed...) {
		if err == nil {
			continue
		}
		failures++
		check(fmt.Sprintf("error %d", i), err.Error())
		check(fmt.Sprintf("error %d %%+v", i), fmt.Sprintf("%+v", err))
		check(fmt.Sprintf("error %d %%#v", i), fmt.Sprintf("%#v", err))
	}
	check("log output", logs.String())
	if failures < 60 || !strings.Contains(logs.String(), `"status":409`) || !strings.Contains(logs.String(), `"status":429`) {
		t.Fatalf("only %d failures, or no 409 and 429 logged: %s", failures, logs.String())
	}
}

// everyMTSCall calls each MTS method once and returns the errors.
func everyMTSCall(ctx context.Context, c *mapbox.Client) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	data := func() io.Reader { return strings.NewReader(geojsonLines(1, 1)) }
	_, err := c.ReplaceSource(ctx, "s", data())
	add(err)
	_, err = c.AppendSource(ctx, "s", data())
	add(err)
	_, err = c.ReplaceChangeset(ctx, "s", data())
	add(err)
	_, err = c.AppendChangeset(ctx, "s", data())
	add(err)
	_, err = c.Source(ctx, "none")
	add(err)
	_, err = c.Changeset(ctx, "none")
	add(err)
	_, _, err = c.ListSources(ctx, mapbox.MTSListOptions{Start: "bogus"})
	add(err)
	_, _, err = c.ListChangesets(ctx, mapbox.MTSListOptions{Start: "bogus"})
	add(err)
	add(c.DeleteSource(ctx, "none"))
	add(c.DeleteChangeset(ctx, "none"))
	add(c.CreateTileset(ctx, "alice.bad", mapbox.NewTileset{Recipe: mtsRecipe("s", 9, 1), Name: "b"}))
	_, err = c.Recipe(ctx, "alice.none")
	add(err)
	add(c.UpdateRecipe(ctx, "alice.none", mtsRecipe("s", 0, 1)))
	_, err = c.ValidateRecipe(ctx, json.RawMessage(`{"version":1,"layers":{}}`), false)
	add(err)
	name := "n"
	add(c.UpdateTileset(ctx, "alice.none", mapbox.TilesetUpdate{Name: &name}))
	add(c.DeleteTileset(ctx, "alice.none"))
	_, _, err = c.ListTilesets(ctx, mapbox.MTSListOptions{Start: "bogus"})
	add(err)
	_, err = c.Publish(ctx, "alice.none")
	add(err)
	_, err = c.PublishChangesets(ctx, "alice.none", map[string]string{"l": "c"})
	add(err)
	_, err = c.Job(ctx, "alice.none", "j")
	add(err)
	_, _, err = c.ListJobs(ctx, "alice.none", mapbox.JobListOptions{})
	add(err)
	_, err = c.Queue(ctx)
	add(err)
	return errs
}

// TestMTSTokenEchoed: a gateway that echoes the request URL in the
// message, the recipe errors, validateRecipe's errors and an upload's
// "error" property: no 8 characters of the token survive anywhere.
func TestMTSTokenEchoed(t *testing.T) {
	tok := gatewayToken
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		echo := r.URL.String()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, "validateRecipe"):
			json.NewEncoder(w).Encode(map[string]any{"valid": false, "errors": []string{"bad " + echo}})
		case strings.Contains(r.URL.Path, "/sources/"):
			json.NewEncoder(w).Encode(map[string]any{"id": "x", "error": "refused " + echo})
		default:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"message": "refused " + echo, "errors": []string{"at " + echo}})
		}
	}))
	defer srv.Close()
	c := newClient(t, mapbox.Options{BaseURL: srv.URL, Username: "alice", Token: tok})
	ctx := context.Background()
	err := c.UpdateRecipe(ctx, "alice.parks", mtsRecipe("s", 0, 1))
	texts := append([]string{err.Error()}, mapbox.RecipeErrors(err)...)
	if len(texts) != 2 {
		t.Fatalf("recipe errors: %v", err)
	}
	v, err := c.ValidateRecipe(ctx, mtsRecipe("s", 0, 1), false)
	if err != nil || v.Valid || len(v.Errors) != 1 {
		t.Fatalf("validate: %+v, %v", v, err)
	}
	texts = append(texts, v.Errors...)
	_, err = c.ReplaceSource(ctx, "s", strings.NewReader("x"))
	wantClass(t, "a 200 carrying error", err, mapbox.ErrInvalid)
	texts = append(texts, err.Error())
	for _, s := range texts {
		if frag := mapbox.TokenFragment(tok, s); frag != "" {
			t.Errorf("%q of the token survives in %q", frag, s)
		}
	}
}
