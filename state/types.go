package state

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Stage is where a job is in the pipeline. The zero Stage is invalid.
type Stage uint8

const (
	// StageQueued: waiting to start; a newer content for the tileset replaces it.
	StageQueued Stage = iota + 1
	// StageStaging: credentials fetched and/or bytes being sent to S3.
	StageStaging
	// StageStaged: the bytes are on S3 with the queued hash; the upload is not
	// known to be created yet (CreateSentAt tells whether a create was sent).
	StageStaged
	// StageProcessing: Mapbox accepted the upload (UploadID set) and processes it.
	StageProcessing
	// StageRetryWait: a transient error; the job resumes at RetryFrom once
	// NextAttempt has passed. The job still counts as in flight for its tileset.
	StageRetryWait
	// StageFailed: a permanent failure (LastError says why); kept for status
	// and for `retry` until the file changes.
	StageFailed
	// StageDone: finished. Done jobs are removed from the queue; this stage
	// only appears on the Job value Done returns.
	StageDone
)

var stageNames = [...]string{
	StageQueued:     "queued",
	StageStaging:    "staging",
	StageStaged:     "staged",
	StageProcessing: "processing",
	StageRetryWait:  "retry-wait",
	StageFailed:     "failed",
	StageDone:       "done",
}

// Stages lists the stages a stored job can be in, in pipeline order.
var Stages = []Stage{StageQueued, StageStaging, StageStaged, StageProcessing, StageRetryWait, StageFailed}

func (s Stage) String() string {
	if s >= StageQueued && s <= StageDone {
		return stageNames[s]
	}
	return fmt.Sprintf("Stage(%d)", uint8(s))
}

// Valid reports whether s is a stage a stored job may have.
func (s Stage) Valid() bool { return s >= StageQueued && s <= StageFailed }

// InFlight reports whether a job in this stage has started and not finished:
// its tileset takes no other job until it is done, failed or cancelled.
func (s Stage) InFlight() bool {
	return s == StageStaging || s == StageStaged || s == StageProcessing || s == StageRetryWait
}

// MarshalText encodes the stage by name, so stored records read clearly.
func (s Stage) MarshalText() ([]byte, error) {
	if s < StageQueued || s > StageDone {
		return nil, fmt.Errorf("invalid stage %d", uint8(s))
	}
	return []byte(stageNames[s]), nil
}

// UnmarshalText decodes a stage name.
func (s *Stage) UnmarshalText(b []byte) error {
	for i, n := range stageNames {
		if n != "" && n == string(b) {
			*s = Stage(i)
			return nil
		}
	}
	return fmt.Errorf("unknown stage %q", b)
}

// Outcome is the last thing that happened to a file's content, or one line of history.
type Outcome string

const (
	OutcomePending    Outcome = "pending"    // queued or in flight
	OutcomeUploaded   Outcome = "uploaded"   // Mapbox processed it
	OutcomeUnchanged  Outcome = "unchanged"  // the tileset already had this content
	OutcomeRefused    Outcome = "refused"    // cannot succeed (type, size, missing .shx…); Reason says why
	OutcomeFailed     Outcome = "failed"     // failed permanently; Reason says why
	OutcomeSuperseded Outcome = "superseded" // newer content for the tileset replaced it before it was sent
	OutcomeCancelled  Outcome = "cancelled"  // dropped before creation (e.g. the file changed while staging)
)

// FileKey names a file: the watch folder as configured and the path below it,
// slash-separated. Neither may contain a NUL byte.
type FileKey struct {
	Watch string `json:"watch"`
	Path  string `json:"path"`
}

func (k FileKey) String() string { return k.Watch + "/" + k.Path }

// FileRecord is what the store remembers about one file.
type FileRecord struct {
	Key     FileKey `json:"-"` // filled from the record's key on reads
	Size    int64   `json:"size"`
	ModTime int64   `json:"mtime_ns"` // modification time, Unix nanoseconds
	// FileID identifies the file on its volume ("dev:inode" on Unix, the volume
	// serial and file index on Windows), or is empty where the OS gives none.
	FileID    string    `json:"file_id,omitempty"`
	SHA256    string    `json:"sha256,omitempty"` // hex
	Tileset   string    `json:"tileset,omitempty"`
	Outcome   Outcome   `json:"outcome,omitempty"`
	Reason    string    `json:"reason,omitempty"` // for refused and failed
	UpdatedAt time.Time `json:"updated_at"`
}

// TilesetRecord is the content last uploaded successfully to a tileset.
type TilesetRecord struct {
	Tileset  string    `json:"-"` // filled from the key on reads
	SHA256   string    `json:"sha256"`
	UploadID string    `json:"upload_id"`
	Time     time.Time `json:"time"`
	Source   FileKey   `json:"source"`
	// Recipe is, for an MTS tileset, the hex SHA-256 of the recipe it was
	// published with (RecipeHash); "" for the Uploads API. RecipeJSON is
	// that recipe: for one layer of a tileset several files feed (a key
	// with config.LayerSep), the part of the tileset's recipe it adds.
	Recipe     string          `json:"recipe,omitempty"`
	RecipeJSON json.RawMessage `json:"recipe_json,omitempty"`
}

// Credentials are the temporary S3 credentials Mapbox handed out for staging.
// They are stored with the job so that a multipart upload survives a restart,
// secrets included (the database file is mode 0600). String and LogValue
// redact the secrets; never print the fields directly.
type Credentials struct {
	Bucket          string    `json:"bucket"`
	Key             string    `json:"key"`
	URL             string    `json:"url"`
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	FetchedAt       time.Time `json:"fetched_at"`
	Expires         time.Time `json:"expires,omitzero"`
}

func (c Credentials) String() string {
	return fmt.Sprintf("{bucket=%s key=%s url=%s access_key_id=%s secret=[redacted] session_token=[redacted] fetched=%s expires=%s}",
		c.Bucket, c.Key, c.URL, c.AccessKeyID, c.FetchedAt.Format(time.RFC3339), c.Expires.Format(time.RFC3339))
}

// GoString redacts like String, for %#v.
func (c Credentials) GoString() string { return "state.Credentials" + c.String() }

// LogValue redacts the secrets in structured logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("bucket", c.Bucket), slog.String("key", c.Key), slog.String("url", c.URL),
		slog.Time("expires", c.Expires))
}

// Part is one completed part of a multipart upload.
type Part struct {
	Number int32  `json:"n"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

// Multipart is the resumable state of a multipart upload to the staging bucket.
type Multipart struct {
	UploadID string `json:"upload_id"`
	PartSize int64  `json:"part_size"`
	// Checksum is the checksum algorithm the parts are sent with ("" for
	// none, e.g. "CRC32"): a resumed upload must use the same one.
	Checksum string `json:"checksum,omitempty"`
	Parts    []Part `json:"parts,omitempty"` // ascending Number
}

// Job is one (tileset, content) to send, with everything needed to resume it.
type Job struct {
	ID      uint64  `json:"id"` // queue order; never reused
	Tileset string  `json:"tileset"`
	Name    string  `json:"name,omitempty"` // display name for the upload
	Source  FileKey `json:"source"`
	// Joined lists the other files that hold this job's content and wait
	// for it (a copy, or the file at its new path after a move): when the
	// job ends their records take its outcome, and if the source is gone
	// before its bytes are staged, one of them becomes the source.
	Joined    []FileKey `json:"joined,omitempty"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	Stage     Stage     `json:"stage"`
	RetryFrom Stage     `json:"retry_from,omitempty"` // the stage a retry-wait job resumes at

	Attempts    int       `json:"attempts,omitempty"` // transient failures so far
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`

	Credentials  *Credentials `json:"credentials,omitempty"`
	Multipart    *Multipart   `json:"multipart,omitempty"`
	StagedSHA256 string       `json:"staged_sha256,omitempty"`
	StagedAt     time.Time    `json:"staged_at,omitzero"`
	// CreateSentAt is when the first create request that may have reached
	// Mapbox was sent (this machine's clock). A staged job with it set may
	// already exist at Mapbox: look it up before creating again. It is
	// cleared when the attempt that set it proves nothing was created.
	CreateSentAt time.Time `json:"create_sent_at,omitzero"`
	// CreateSentServer is the same moment on Mapbox's clock (learned from
	// the Date header of its answers); zero when it was not known then.
	CreateSentServer time.Time `json:"create_sent_server,omitzero"`
	// CreateLastSent is when the latest create request that may have
	// reached Mapbox was sent: one whose answer was lost may still take
	// effect for a while, so it is not looked up before that has passed.
	CreateLastSent  time.Time `json:"create_last_sent,omitzero"`
	UploadID        string    `json:"upload_id,omitempty"`
	UploadCreatedAt time.Time `json:"upload_created_at,omitzero"`
	Progress        float64   `json:"progress,omitempty"`
	ProgressAt      time.Time `json:"progress_at,omitzero"`

	// Target is where the job goes: "" the Uploads API (every job of an
	// older database), TargetMTS the Mapbox Tiling Service (mts.go). An MTS
	// job stages by replacing tileset source SourceID with the file's
	// converted bytes, and creates by publishing with Recipe (rendered);
	// its SHA256 is MTSContentHash of both, its UploadID the publish job's.
	Target   string          `json:"target,omitempty"`
	SourceID string          `json:"source_id,omitempty"`
	Recipe   json.RawMessage `json:"recipe,omitempty"`
	// CU and Warnings are what Mapbox reported of the finished MTS job.
	CU       float64  `json:"cu,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Incremental is set for an MTS job of a rule that publishes
	// changesets after a full publish (`incremental: true`).
	Incremental bool `json:"incremental,omitempty"`
	// Changeset is, for an MTS job of an incremental rule staged as a
	// changeset (its changes since the content the tileset holds), the
	// changeset's ID: it creates with publish-changesets, not a publish.
	Changeset string `json:"changeset,omitempty"`
}

// String describes the job without secrets.
func (j Job) String() string {
	return fmt.Sprintf("job %d (%s %s %.12s %s)", j.ID, j.Tileset, j.Source, j.SHA256, j.Stage)
}

// LogValue lists the job's identifying fields, never its credentials.
func (j Job) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("id", j.ID), slog.String("tileset", j.Tileset),
		slog.String("path", j.Source.String()), slog.String("sha256", j.SHA256),
		slog.String("stage", j.Stage.String()), slog.String("upload_id", j.UploadID))
}

// HistoryEntry is one outcome, kept per tileset, per file and globally.
type HistoryEntry struct {
	Seq      uint64    `json:"seq"` // global order
	Time     time.Time `json:"time"`
	Tileset  string    `json:"tileset,omitempty"`
	Source   FileKey   `json:"source"`
	SHA256   string    `json:"sha256,omitempty"`
	UploadID string    `json:"upload_id,omitempty"`
	JobID    uint64    `json:"job_id,omitempty"`
	Outcome  Outcome   `json:"outcome"`
	Message  string    `json:"message,omitempty"`
	// Target, CU and Warnings: for an MTS publish, TargetMTS, the compute
	// units Mapbox billed and its warnings ("W201 …"); UploadID is then the
	// publish job's ID.
	Target   string   `json:"target,omitempty"`
	CU       float64  `json:"cu,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}
