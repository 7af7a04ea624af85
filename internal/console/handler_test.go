package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// clocked sets each record's time from *at, so that lines are known in
// advance and a test can move time on between two records.
type clocked struct {
	slog.Handler
	at *time.Time
}

func (c clocked) Handle(ctx context.Context, r slog.Record) error {
	r.Time = *c.at
	return c.Handler.Handle(ctx, r)
}
func (c clocked) WithAttrs(as []slog.Attr) slog.Handler {
	return clocked{c.Handler.WithAttrs(as), c.at}
}
func (c clocked) WithGroup(n string) slog.Handler { return clocked{c.Handler.WithGroup(n), c.at} }

// testLog is a logger on a Handler of width w at 14:02:07 UTC, and what it wrote.
func testLog(w int, opts HandlerOptions) (*slog.Logger, *strings.Builder, *time.Time) {
	var out strings.Builder
	at := time.Date(2026, 12, 1, 14, 2, 7, 0, time.UTC)
	opts.Location = time.UTC
	opts.Width = func() int { return w }
	if opts.Roots == nil {
		opts.Roots = []string{"/srv/drop"}
	}
	return slog.New(clocked{NewHandler(&out, opts), &at}), &out, &at
}

var hydrants = state.Job{ID: 7, Tileset: "demo.surveys-hydrants", Size: 7_100_000,
	Source: state.FileKey{Watch: "/srv/drop", Path: "surveys/hydrants.zip"},
	SHA256: "a61f36e4019fa793d135444b36b3c02d9abc725b3a8790d10b3aaa1dd9ff7b1b", Stage: state.StageStaging}

// apiError is a real error of the Mapbox client: a create Mapbox refused
// with 422 and a message.
func apiError(t *testing.T) error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"message":"Tileset name is too long"}`))
	}))
	defer srv.Close()
	c, err := mapbox.New(mapbox.Options{BaseURL: srv.URL, Username: "demo", Token: "sk.secret-test-token"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), mapbox.CreateRequest{Tileset: "demo.x", URL: "https://b.s3.amazonaws.com/k"})
	var ae *mapbox.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("create: %v, want an APIError", err)
	}
	return err
}

// Every event of a file's way, as the packages log it (the same messages,
// attributes and With chains), renders as one line of at most 80 columns.
func TestHandlerEvents(t *testing.T) {
	log, out, at := testLog(80, HandlerOptions{})
	in := log.With("component", "intake")
	sy := log.With("component", "syncer")
	j := hydrants
	in.With("path", "/srv/drop/surveys/hydrants.zip").Info("queued", "tileset", j.Tileset, "name", "hydrants", "bytes", j.Size, "sha256", j.SHA256[:12], "job", j.ID)
	sy.Info("staging", "job", j, "bytes", j.Size)
	*at = at.Add(4 * time.Second)
	sy.Info("staged", "job", j, "mode", "single PUT")
	j.Stage, j.UploadID = state.StageProcessing, "cf4ff84592dc560c607c83d2"
	sy.Info("created: Mapbox is processing", "job", j, "upload_id", j.UploadID)
	sy.With("job", j, "upload_id", j.UploadID).Info("uploaded: Mapbox has processed it", "tileset", j.Tileset)
	in.With("path", "/srv/drop/elevation.tif").Info("skip: unchanged", "tileset", "demo.elevation", "sha256", "dd30c6243aab")
	sy.Info("skip: the tileset already holds this content", "job", state.Job{ID: 8, Tileset: "demo.trees", Source: state.FileKey{Watch: "/srv/drop", Path: "trees.csv"}})
	in.With("path", "/srv/drop/notes.docx").Warn("refused: not sent to Mapbox", "reason", "unsupported file type .docx", "tileset", "")
	sy.Error("failed permanently: not retried until the file changes", "job", j, "reason", "Invalid shapefile: no .prj")
	sy.With("job", j).Error("failed permanently: not retried until the file changes", "err", apiError(t))
	in.With("path", "/srv/drop/roads.geojson").Warn("conflict: not sent, another file for the same tileset changed later", "tileset", "demo.roads", "other", "/srv/drop/old/roads.geojson")
	sy.With("job", j).Info("cancelled", "reason", "the file changed while it was staged")
	in.Info("cancelled: the file was removed before it was sent", "job", state.Job{ID: 9, Tileset: "demo.trees", Source: state.FileKey{Watch: "/srv/drop", Path: "trees.csv"}})
	in.With("path", "/srv/drop/trees.csv").Info("superseded: newer content for the tileset replaces a queued one", "tileset", "demo.trees", "superseded_path", "/srv/drop/old/trees.csv")
	sy.With("job", j).Warn("rate limited", "retry_at", at.Add(time.Minute).Format(time.RFC3339), "attempt", 2, "err", apiError(t))
	sy.Warn("Mapbox could not find the staged bytes: staging them again", "job", j, "upload_id", j.UploadID, "message", "Could not find the staged file")
	sy.Info("resuming a job interrupted by a stop", "job", j)
	sy.Info("found the upload an earlier create made (its answer was lost, or tilesyncd stopped): not creating it again", "job", j, "upload_id", j.UploadID)
	sy.Info("staging progress", "job", j, "percent", 40, "sent_bytes", 2_840_000, "total_bytes", j.Size)
	log.Info("tilesyncd starting", "account", "demo", "api", "https://api.mapbox.com", "state", "/var/lib/tilesyncd/state.db", "watch_folders", 2)
	log.With("component", "watcher", "watch", "/srv/drop").Info("watching", "component", "watcher", "root", "/srv/drop", "mode", "notify (ext4)")
	log.Info("SIGHUP: reloading the configuration", "config", "/etc/tilesyncd.yaml")
	log.Info("tilesyncd stopped")

	want := `14:02:07 queued    surveys/hydrants.zip → demo.surveys-hydrants  6.8 MiB
14:02:07 staging   surveys/hydrants.zip → demo.surveys-hydrants  6.8 MiB
14:02:11 staged    surveys/hydrants.zip → demo.surveys-hydrants  6.8 MiB
                   in 4s, 1.7 MiB/s
14:02:11 created   surve…hydrants.zip → demo.surveys-hydrants  6.8 MiB  cf4ff845
14:02:11 uploaded  surve…hydrants.zip → demo.surveys-hydrants  6.8 MiB  cf4ff845
14:02:11 unchanged elevation.tif → demo.elevation  not sent again
14:02:11 unchanged trees.csv → demo.trees  not sent again
14:02:11 refused   notes.docx  unsupported file type .docx
14:02:11 failed    surveys/hydrants.zip → demo.surveys-hydrants  cf4ff845
                   Mapbox: Invalid shapefile: no .prj
14:02:11 failed    surveys/hydrants.zip → demo.surveys-hydrants  cf4ff845
                   Mapbox: Tileset name is too long (HTTP 422)
14:02:11 conflict  roads.geojson → demo.roads
                   not sent: old/roads.geojson changed later
14:02:11 cancelled surveys/hydrants.zip → demo.surveys-hydrants  cf4ff845
                   the file changed while it was staged
14:02:11 cancelled trees.csv → demo.trees
                   the file was removed before it was sent
14:02:11 replaced  trees.csv → demo.trees  replaces the queued old/trees.csv
14:02:11 retry     surveys/hydrants.zip → demo.surveys-hydrants  cf4ff845
                   rate limited: Mapbox: Tileset name is too long (HTTP 422);
                   again at 14:03:11 (attempt 2)
14:02:11 restage   surveys/hydrants.zip → demo.surveys-hydrants  cf4ff845
                   Mapbox: Could not find the staged file
14:02:11 resuming  surveys/hydrants.zip → demo.surveys-hydrants  cf4ff845
                   interrupted by a stop
14:02:11 found     surveys/hydrants.zip → demo.surveys-hydrants  cf4ff845
                   made by an earlier create whose answer was lost
14:02:11 staging   surveys/hydrants.zip → demo.surveys-hydrants
                   2.7 MiB of 6.8 MiB (40%)
14:02:11 started   account demo  2 watch folders
14:02:11 watching  /srv/drop  notify (ext4)
14:02:11 reload    SIGHUP: reloading the configuration
14:02:11 stopped   tilesyncd
`
	if got := out.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
	checkWidth(t, out.String(), 80)
}

// checkWidth fails the test for a row wider than w or holding a control
// character.
func checkWidth(t *testing.T, text string, w int) {
	t.Helper()
	for _, row := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if width(row) > w {
			t.Errorf("%d columns, over %d: %q", width(row), w, row)
		}
		for _, r := range row {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
				t.Errorf("a control character %q in %q", r, row)
			}
		}
	}
}
