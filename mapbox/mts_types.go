package mapbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SourceURI is the name of a tileset source everywhere in MTS (the id of
// its answers, the source of a recipe layer).
func SourceURI(username, id string) string { return "mapbox://tileset-source/" + username + "/" + id }

// ChangesetURI is the name of a changeset, as publish-changesets takes it.
func ChangesetURI(username, id string) string {
	return "mapbox://tileset-changeset/" + username + "/" + id
}

// SourceInfo is the answer to an upload to a tileset source or changeset
// (ReplaceSource, AppendSource, ReplaceChangeset, AppendChangeset).
type SourceInfo struct {
	// ID is the source's URI, "mapbox://tileset-source/{username}/{id}"
	// ("mapbox://tileset-changeset/…" for a changeset).
	ID string `json:"id"`
	// Files is the number of files the source now holds.
	Files int `json:"files"`
	// FileSize is the bytes of the file this call uploaded.
	FileSize int64 `json:"file_size"`
	// SourceSize is the bytes of all the source's files.
	SourceSize int64 `json:"source_size"`
}

// Source is a stored tileset source or changeset, as Source and
// ListSources (Changeset, ListChangesets) return it. Note Size here where
// an upload answers SourceSize.
type Source struct {
	ID    string `json:"id"`
	Files int    `json:"files"`
	Size  int64  `json:"size"`
	// SizeNice is Mapbox's display of Size ("20.39KB"); empty in lists.
	SizeNice string `json:"size_nice,omitempty"`
}

// JobStage is the stage of an MTS job.
type JobStage string

// The stages of a job: queued → processing → success | failed; a queued
// job replaced by a newer job of the same tileset ends superseded without
// running.
const (
	JobQueued     JobStage = "queued"
	JobProcessing JobStage = "processing"
	JobSuccess    JobStage = "success"
	JobFailed     JobStage = "failed"
	JobSuperseded JobStage = "superseded"
)

// Done reports whether a job in this stage has ended: success, failed or
// superseded. An unknown stage is not done.
func (s JobStage) Done() bool {
	return s == JobSuccess || s == JobFailed || s == JobSuperseded
}

// UnixMillis is a time as MTS writes it: milliseconds since the Unix epoch.
type UnixMillis int64

// Time is m as a time.Time; the zero time for 0.
func (m UnixMillis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m))
}

// MillisOf is t in MTS's milliseconds.
func MillisOf(t time.Time) UnixMillis { return UnixMillis(t.UnixMilli()) }

// Job is MTS's job object: one publish (or publish-changesets) of a
// tileset. Fields Mapbox marks as present on finished jobs only are zero
// before.
type Job struct {
	ID          string     `json:"id"`
	Stage       JobStage   `json:"stage"`
	Created     UnixMillis `json:"created"`
	CreatedNice string     `json:"created_nice,omitempty"`
	// Published is informational: Mapbox shows one on processing jobs too.
	Published UnixMillis `json:"published,omitempty"`
	TilesetID string     `json:"tilesetId"`
	// Errors are set on failed jobs.
	Errors []string `json:"errors"`
	// Warnings may be set on successful jobs: "W201 …" (features dropped
	// for tile size), W202/W203 (features that failed to decode/encode),
	// W204 (duplicate feature ids), W205 (a layer whose filter kept nothing).
	Warnings []string `json:"warnings"`
	// TilesetPrecisions is the area tiled per precision ("1m": km²).
	TilesetPrecisions map[string]float64 `json:"tileset_precisions,omitempty"`
	// CU is the compute units billed (documented as an integer, sent as 3.3).
	CU float64 `json:"cu,omitempty"`
	// Filesize is the tileset's size in bytes after the job.
	Filesize int64 `json:"filesize,omitempty"`
	// LayerStats (single-job answers only) is kept undecoded.
	LayerStats json.RawMessage `json:"layer_stats,omitempty"`
	// Recipe is the recipe the job was made with.
	Recipe json.RawMessage `json:"recipe,omitempty"`
}

// warningCode matches the code a warning starts with ("W201").
var warningCode = regexp.MustCompile(`^\s*(W\d{3})\b`)

// WarningCodes returns the codes of the job's warnings, in order, one per
// warning that starts with one ("W201").
func (j Job) WarningCodes() []string {
	var out []string
	for _, w := range j.Warnings {
		if m := warningCode.FindStringSubmatch(w); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// Err returns nil unless the job failed, and then an error wrapping
// ErrProcessing with MTS's errors: permanent for the data and recipe the
// job was made from. A superseded job is not an error (a newer job of the
// tileset took its place): check Stage.
func (j Job) Err() error {
	if j.Stage != JobFailed {
		return nil
	}
	msg := strings.Join(j.Errors, "; ")
	if msg == "" {
		msg = "no error given"
	}
	return fmt.Errorf("job %s of %s failed: %s: %w", j.ID, j.TilesetID, msg, ErrProcessing)
}

// PublishResult is the answer to Publish and PublishChangesets.
type PublishResult struct {
	Message string `json:"message"`
	JobID   string `json:"jobId"`
	// Incremental is "initial" for the first publish of an incremental
	// recipe, "reset" for a later full publish of one, "" otherwise.
	Incremental string `json:"incremental,omitempty"`
}

// Attribution is one attribution of a tileset.
type Attribution struct {
	Text string `json:"text"`
	Link string `json:"link"`
}

// NewTileset is the body of CreateTileset.
type NewTileset struct {
	// Recipe is the tileset's recipe (required), sent as it is.
	Recipe json.RawMessage `json:"recipe"`
	// Name is the display name (required, at most 64 characters).
	Name string `json:"name"`
	// Private defaults to true when nil.
	Private     *bool         `json:"private,omitempty"`
	Description string        `json:"description,omitempty"`
	Attribution []Attribution `json:"attribution,omitempty"`
}

// TilesetUpdate is the body of UpdateTileset: nil fields are left as they are.
type TilesetUpdate struct {
	Name        *string       `json:"name,omitempty"`
	Description *string       `json:"description,omitempty"`
	Private     *bool         `json:"private,omitempty"`
	Attribution []Attribution `json:"attribution,omitempty"`
}

// Tileset is one entry of ListTilesets.
type Tileset struct {
	Type        string    `json:"type"`
	Center      []float64 `json:"center"`
	Created     time.Time `json:"created"`
	Description string    `json:"description"`
	Filesize    int64     `json:"filesize"`
	ID          string    `json:"id"`
	Modified    time.Time `json:"modified"`
	Name        string    `json:"name"`
	Visibility  string    `json:"visibility"`
	// Status is always "available" for MTS tilesets: read their jobs.
	Status string `json:"status"`
}

// RecipeValidation is the answer of ValidateRecipe.
type RecipeValidation struct {
	Valid  bool     `json:"valid"`
	Errors []string `json:"errors,omitempty"`
}

// RecipeError is the error of CreateTileset and UpdateRecipe when MTS
// refused the recipe: the *APIError (ErrInvalid; its Message holds the
// errors too) and the errors MTS listed, each naming a field
// ("layers.parcels.minzoom …").
type RecipeError struct {
	Errors []string
	err    *APIError
}

func (e *RecipeError) Error() string { return e.err.Error() }

// Unwrap returns the *APIError.
func (e *RecipeError) Unwrap() error { return e.err }

// RecipeErrors returns the errors MTS listed when it refused a recipe, nil
// when err is not such a refusal.
func RecipeErrors(err error) []string {
	var re *RecipeError
	if errors.As(err, &re) {
		return re.Errors
	}
	return nil
}

// MaxMTSListLimit is the most items one MTS list call returns.
const MaxMTSListLimit = 500

// MTSListOptions select a page of ListSources, ListChangesets and
// ListTilesets.
type MTSListOptions struct {
	// Limit is 1 to 500; 0 leaves Mapbox's default (100).
	Limit int
	// SortBy is "created", "modified" or "" (Mapbox's default).
	SortBy string
	// Start is the cursor of the page to read ("" for the first), as the
	// previous page's call returned it; opaque.
	Start string
	// Type ("raster", "rasterarray", "vector") and Visibility ("public",
	// "private") filter ListTilesets; the others ignore them.
	Type, Visibility string
}

// JobListOptions select a page of ListJobs.
type JobListOptions struct {
	// Stage keeps the jobs in that stage only; "" keeps all.
	Stage JobStage
	// Limit is 1 to 500; 0 leaves Mapbox's default (100).
	Limit int
	// Start is the cursor of the page to read ("" for the first).
	Start string
}
