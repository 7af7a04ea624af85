package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/state"
)

// This file decides which of the account's upload statuses may be removed
// from Mapbox's list, and removes them: for the daemon's cleanup
// (cleanup.go) and for `tilesyncd uploads delete`. Removing a status never
// touches its tileset; Mapbox refuses it while the upload is processing.

// UploadsAPI is what removing upload statuses needs of the Mapbox client.
type UploadsAPI interface {
	ListPage(ctx context.Context, opts mapbox.ListOptions) ([]mapbox.Upload, string, error)
	Upload(ctx context.Context, id string) (mapbox.Upload, error)
	Delete(ctx context.Context, id string) error
	ClockOffset() (time.Duration, bool)
}

var _ UploadsAPI = (*mapbox.Client)(nil)

// Removal is what was decided, and done, for one upload status.
type Removal struct {
	Upload mapbox.Upload
	// Deleted: the status is gone from Mapbox's list (DryRun: it would be).
	Deleted bool
	// Kept says why the status stays, when it was not deleted and no
	// request failed.
	Kept string
	// Err is the failed request, when one failed.
	Err error
}

// Reasons a status is kept.
const (
	KeptProcessing = "still processing"
	KeptFailed     = "its processing failed (only uploads that succeeded are removed)"
	KeptUnknown    = "Mapbox knows no such upload"
)

// InUse returns what keeps a status that jobs of the state database still
// need ("" when none does): the upload of a job that waits for its outcome,
// and every upload to a tileset whose create was sent but not answered
// (the sender looks for it in Mapbox's list before creating again).
// Removing such a status would make the job fail as unknown to Mapbox, or
// upload its bytes twice.
func InUse(jobs []state.Job) func(mapbox.Upload) string {
	ids, creating := map[string]uint64{}, map[string]uint64{}
	for _, j := range jobs {
		switch {
		case j.Stage == state.StageDone || j.Stage == state.StageFailed:
		case j.UploadID != "":
			ids[j.UploadID] = j.ID
		case !j.CreateSentAt.IsZero():
			creating[j.Tileset] = j.ID
		}
	}
	return func(u mapbox.Upload) string {
		if id, ok := ids[u.ID]; ok {
			return fmt.Sprintf("tilesyncd still waits for its outcome (job #%d)", id)
		}
		if id, ok := creating[u.Tileset]; ok {
			return fmt.Sprintf("tilesyncd is looking for an upload to its tileset whose answer was lost (job #%d)", id)
		}
		return ""
	}
}

// CleanupOptions say which statuses CleanCompleted removes.
type CleanupOptions struct {
	// OlderThan: only uploads created longer ago than this, on Mapbox's
	// clock (to about a second: clockSlack), are removed.
	OlderThan time.Duration
	// InUse, if set, keeps the statuses it names a reason for (InUse).
	InUse func(mapbox.Upload) string
	// DryRun decides without deleting anything.
	DryRun bool
	// PageSize is how many uploads a list request asks for; 0:
	// mapbox.MaxListLimit.
	PageSize int
}

// CleanCompleted removes from Mapbox's list the statuses of the account's
// uploads that completed without error and were created more than
// opts.OlderThan ago: every such upload of the account, whatever its
// tileset, except those opts.InUse keeps. It lists the uploads oldest
// first, page by page, and stops at the first one that is too new, then
// deletes one at a time. It returns a Removal for every upload old enough
// (deleted, or kept with the reason), and stops at the first request that
// fails for a reason that is not the upload's own (the API down, the rate
// limit, the token): that Removal carries the error, which is returned too.
// Every request goes through the client's gate: give a context marked by
// ratelimit.Housekeeping for the lowest priority.
func CleanCompleted(ctx context.Context, api UploadsAPI, opts CleanupOptions) ([]Removal, error) {
	var old []Removal
	if opts.PageSize <= 0 {
		opts.PageSize = mapbox.MaxListLimit
	}
	for lo := (mapbox.ListOptions{Limit: opts.PageSize, Reverse: true}); ; {
		page, next, err := api.ListPage(ctx, lo)
		if err != nil {
			return nil, fmt.Errorf("list the uploads: %w", err) // nothing deleted yet
		}
		cutoff := mapboxNow(api).Add(clockSlack - opts.OlderThan)
		newer := false
		for _, u := range page {
			if !u.Created.Before(cutoff) {
				newer = true // oldest first: the rest are newer still
				break
			}
			r := Removal{Upload: u, Kept: keepCompleted(u, opts.InUse)}
			if r.Kept == "" && opts.DryRun {
				r.Deleted = true
			}
			old = append(old, r)
		}
		if newer || next == "" {
			break
		}
		lo.Start = next
	}
	if opts.DryRun {
		return old, nil
	}
	for i := range old {
		if old[i].Kept != "" {
			continue
		}
		if err := remove(ctx, api, &old[i]); err != nil {
			return old[:i+1], err
		}
	}
	return old, nil
}

// keepCompleted says why an old upload's status stays in a cleanup of
// completed uploads, or "".
func keepCompleted(u mapbox.Upload, inUse func(mapbox.Upload) string) string {
	if why := keepAny(u, inUse); why != "" {
		return why
	}
	if _, failed := u.Failed(); failed {
		return KeptFailed
	}
	return ""
}

// keepAny says why an upload's status may not be removed at all, or "".
func keepAny(u mapbox.Upload, inUse func(mapbox.Upload) string) string {
	_, failed := u.Failed()
	if !u.Complete && !failed {
		return KeptProcessing
	}
	if inUse != nil {
		return inUse(u)
	}
	return ""
}

// DeleteUploads removes the statuses of the uploads ids, one at a time:
// each is asked for first, and kept when it is still processing, unknown
// to Mapbox, or named by inUse (nil: none). A failed upload's status is
// removed too. It stops as CleanCompleted does.
func DeleteUploads(ctx context.Context, api UploadsAPI, ids []string, inUse func(mapbox.Upload) string) ([]Removal, error) {
	var out []Removal
	for _, id := range ids {
		u, err := api.Upload(ctx, id)
		r := Removal{Upload: u}
		r.Upload.ID = id
		switch {
		case errors.Is(err, mapbox.ErrNotFound):
			r.Kept = KeptUnknown
		case err != nil:
			r.Err = err
			if !uploadsOwn(err) {
				return append(out, r), err
			}
		default:
			r.Kept = keepAny(u, inUse)
		}
		if r.Kept == "" && r.Err == nil {
			if err := remove(ctx, api, &r); err != nil {
				return append(out, r), err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// remove deletes r's status and records the outcome in r. It returns an
// error only when the failure is not the upload's own.
func remove(ctx context.Context, api UploadsAPI, r *Removal) error {
	err := api.Delete(ctx, r.Upload.ID)
	switch {
	case err == nil, errors.Is(err, mapbox.ErrNotFound): // gone already: someone else removed it
		r.Deleted = true
	case errors.Is(err, mapbox.ErrTilesetBusy): // Mapbox says it is processing
		r.Kept = KeptProcessing
	default:
		r.Err = err
		if !uploadsOwn(err) {
			return err
		}
	}
	return nil
}

// uploadsOwn reports whether a failed request says something about its
// upload alone (Mapbox refused it), so that the others may still be tried.
func uploadsOwn(err error) bool {
	return errors.Is(err, mapbox.ErrInvalid) || errors.Is(err, mapbox.ErrNotFound) || errors.Is(err, mapbox.ErrTilesetBusy)
}

// clockSlack is how far an upload may be younger than CleanupOptions.OlderThan
// and still count as old enough: Mapbox's clock is known to about a second
// (its Date headers count whole seconds, and the estimate errs early), so
// that "0" takes every upload created before the cleanup began.
const clockSlack = time.Second

// mapboxNow is the time on Mapbox's clock, as the client learned it.
func mapboxNow(api UploadsAPI) time.Time {
	now := time.Now()
	if off, ok := api.ClockOffset(); ok {
		now = now.Add(off)
	}
	return now
}
