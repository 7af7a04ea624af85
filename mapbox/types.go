package mapbox

import (
	"fmt"
	"time"
)

// Credentials are the temporary AWS credentials returned by
// POST /uploads/v1/{username}/credentials. They allow a PUT (single or
// multipart) of exactly s3://Bucket/Key in region us-east-1 and expire after
// an undocumented time. Each call returns a new Key.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	Bucket          string `json:"bucket"`
	Key             string `json:"key"`
	// URL is what the create call takes: it names the staged object.
	URL string `json:"url"`
}

// String never prints the secret parts.
func (c Credentials) String() string {
	return fmt.Sprintf("s3://%s/%s (access key %s, secret [redacted])", c.Bucket, c.Key, c.AccessKeyID)
}

// Upload is Mapbox's upload object.
type Upload struct {
	ID       string    `json:"id"`
	Tileset  string    `json:"tileset"`
	Name     string    `json:"name,omitempty"`
	Owner    string    `json:"owner"`
	Complete bool      `json:"complete"`
	Progress float64   `json:"progress"`
	Error    *string   `json:"error"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// Failed reports whether Mapbox's processing failed, with its message.
// A processing failure is permanent for the bytes that were uploaded.
func (u Upload) Failed() (string, bool) {
	if u.Error == nil {
		return "", false
	}
	return *u.Error, true
}

// CreateRequest is the body of POST /uploads/v1/{username}.
type CreateRequest struct {
	// Tileset is the full ID, "{username}.{name}".
	Tileset string `json:"tileset"`
	// URL is Credentials.URL of the staged object.
	URL string `json:"url"`
	// Name is the tileset's display name (at most 64 characters); optional.
	Name string `json:"name,omitempty"`
}

// Err returns nil while the upload is processing or after it succeeded, and
// an error wrapping ErrProcessing, with Mapbox's message, once it failed.
func (u Upload) Err() error {
	msg, failed := u.Failed()
	if !failed {
		return nil
	}
	return fmt.Errorf("upload %s to %s failed: %s: %w", u.ID, u.Tileset, msg, ErrProcessing)
}
