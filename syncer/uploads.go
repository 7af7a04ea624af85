package syncer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
	"github.com/tilesyncd/tilesyncd/state"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// uploads is the Uploads API target: temporary S3 credentials, resumable
// staging to S3, the create (recovered from Mapbox's list when its answer
// was lost), and the list that tells processing uploads' status. It works
// with the sender's store, intake and counters.
type uploads struct{ *Syncer }

var _ Target = uploads{}

// Stage fetches credentials when the job has none and stages its bytes;
// when the credentials expire under it (up to three times), it fetches new
// ones and stages again.
func (s uploads) Stage(ctx context.Context, j state.Job) (state.Job, error) {
	for expired := 0; ; expired++ {
		nj, err := s.stage(ctx, j)
		if !errors.Is(err, mapbox.ErrCredentialsExpired) || expired == 3 || ctx.Err() != nil {
			return nj, err
		}
		s.log.Info("staging credentials expired: fetching new ones and staging again", "job", nj)
		if j, err = s.credentialsFor(ctx, nj); err != nil { // a new key: staging starts over
			return j, err
		}
	}
}

// Create creates the upload (see create).
func (s uploads) Create(ctx context.Context, j state.Job) (state.Job, error) { return s.create(ctx, j) }

func (s uploads) credentialsFor(ctx context.Context, j state.Job) (state.Job, error) {
	c, err := s.api.Credentials(ctx)
	if err != nil {
		return j, err
	}
	return moved(j)(s.store.SetCredentials(j.ID, state.Credentials{Bucket: c.Bucket, Key: c.Key, URL: c.URL,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, FetchedAt: s.now()}))
}

// stage sends the job's bytes to S3, resuming a multipart upload when the
// job has one, and checks that what was sent is what was queued.
func (s uploads) stage(ctx context.Context, j state.Job) (state.Job, error) {
	var err error
	if j.Credentials == nil {
		// Before a request is spent on credentials: a file removed while
		// its job was being staged (a removal finds such a job under way
		// and leaves it) is not sent (sourceGone).
		if err := s.sourceGone(j); err != nil {
			return j, err
		}
		if j, err = s.credentialsFor(ctx, j); err != nil {
			return j, err
		}
	}
	src, err := s.source.SendPath(ctx, j)
	if err != nil {
		return j, err
	}
	id := j.ID
	lastLog := time.Now()
	var hookErr error // staging calls the hooks one at a time (never concurrently)
	hooks := staging.Hooks{
		OnMultipartStarted: func(m staging.Multipart) {
			_, err := s.store.MultipartStarted(id, state.Multipart{UploadID: m.UploadID, PartSize: m.PartSize, Checksum: m.Checksum})
			hookErr = errors.Join(hookErr, err)
		},
		OnPart: func(p staging.Part) {
			_, err := s.store.PartDone(id, state.Part{Number: p.Number, ETag: p.ETag, Size: p.Size})
			hookErr = errors.Join(hookErr, err)
		},
		OnProgress: func(sent, total int64) {
			s.mu.Lock()
			s.staging[id] = Transfer{Sent: sent, Total: total}
			s.mu.Unlock()
			if total >= progressLogMin && time.Since(lastLog) >= progressLogEvery && sent < total {
				lastLog = time.Now()
				s.log.Info("staging progress", "job", j, "percent", sent*100/total, "sent_bytes", sent, "total_bytes", total)
			}
		},
	}
	s.log.Info("staging", "job", j, "bytes", j.Size)
	res, err := s.stager.Stage(ctx, stagingCredentials(*j.Credentials), src, resumeOf(j), hooks)
	if err == nil {
		err = hookErr
	}
	if err != nil {
		return j, err
	}
	s.stats.BytesStaged.Add(int64(res.PartsSent) * res.PartSize)
	if !res.Multipart {
		s.stats.BytesStaged.Add(res.Size)
	}
	if res.SHA256 != j.SHA256 {
		return j, fmt.Errorf("%w: queued %.12s, sent %.12s", errFileChanged, j.SHA256, res.SHA256)
	}
	s.log.Info("staged", "job", j, "mode", res.Mode())
	return moved(j)(s.store.MarkStaged(j.ID, res.SHA256))
}

// stagingCredentials are the job's stored credentials as staging takes them.
func stagingCredentials(c state.Credentials) mapbox.Credentials {
	return mapbox.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Bucket: c.Bucket, Key: c.Key, URL: c.URL}
}

// resumeOf is the job's stored multipart upload as staging resumes it, or
// nil when it has none.
func resumeOf(j state.Job) *staging.Multipart {
	m := j.Multipart
	if m == nil {
		return nil
	}
	c := j.Credentials
	r := &staging.Multipart{Bucket: c.Bucket, Key: c.Key, UploadID: m.UploadID, PartSize: m.PartSize, Size: j.Size, Checksum: m.Checksum}
	for _, p := range m.Parts {
		r.Parts = append(r.Parts, staging.Part{Number: p.Number, ETag: p.ETag, Size: p.Size})
	}
	return r
}

// A staging of at least progressLogMin bytes logs its progress every
// progressLogEvery, so a long upload shows it is alive.
const (
	progressLogMin   = 64 << 20
	progressLogEvery = 30 * time.Second
)

// create creates the upload, unless a create sent earlier (before a crash,
// or whose answer was lost) already did.
func (s uploads) create(ctx context.Context, j state.Job) (state.Job, error) {
	if err := s.sharedRecovery(&j); err != nil { // shared_ledger.go
		return j, err
	}
	if !j.CreateSentAt.IsZero() {
		// A request held up on the way may still create the upload: look
		// for it only once that can no longer happen.
		if wait := min(j.CreateLastSent.Add(s.quiet).Sub(s.now()), s.quiet); wait > 0 {
			return j, createUnsettled{at: s.now().Add(wait)}
		}
		up, found, err := s.findUpload(ctx, j)
		if err != nil {
			return j, err
		}
		if found {
			s.log.Info("found the upload an earlier create made (its answer was lost, or tilesyncd stopped): not creating it again",
				"job", j, "upload_id", up.ID)
			return s.created(ctx, j, up)
		}
	}
	if age := s.now().Sub(j.StagedAt); s.cfg.Mapbox.StagedMaxAge > 0 && !j.StagedAt.IsZero() && age > s.cfg.Mapbox.StagedMaxAge {
		s.log.Info("the staged bytes are older than staged_max_age, and the staging bucket may have dropped them: staging again",
			"job", j, "staged_at", j.StagedAt.Format(time.RFC3339))
		return moved(j)(s.store.Restage(j.ID, "staged "+age.Round(time.Minute).String()+" ago"))
	}
	if err := s.sharedCreating(ctx, &j); err != nil || j.Stage != state.StageStaged { // shared_ledger.go
		return j, err
	}
	fresh := j.CreateSentAt.IsZero()
	now := s.now()
	var server time.Time
	if off, ok := s.api.ClockOffset(); ok {
		server = now.Add(off)
	}
	j, err := moved(j)(s.store.CreateSent(j.ID, now, server))
	if err != nil {
		return j, err
	}
	up, err := s.api.Create(ctx, mapbox.CreateRequest{Tileset: j.Tileset, URL: j.Credentials.URL, Name: j.Name})
	if err != nil {
		if fresh && provesNotCreated(err) {
			// This attempt recorded the intent and created nothing: forget
			// it, so that no later recovery looks for (and takes) another
			// upload of the tileset as this one.
			j, _ = moved(j)(s.store.ClearCreateSent(j.ID))
			s.sharedNotCreated(ctx, j)
		}
		return j, err
	}
	return s.created(ctx, j, up)
}

// createUnsettled: an earlier create of the job may still take effect; the
// job waits until at before looking for it.
type createUnsettled struct{ at time.Time }

func (e createUnsettled) Error() string {
	return "an earlier create request may still take effect; looking for it at " + e.at.Format(time.RFC3339)
}

// provesNotCreated reports whether a failed create certainly created
// nothing: the request never left this machine (the rate budget held it,
// or no connection was made), or Mapbox answered it with a 4xx (a 429, a
// busy tileset, a refused token, an invalid request). A 5xx, a timeout or a
// lost answer proves nothing: the upload may exist.
func provesNotCreated(err error) bool {
	if mapbox.NotSent(err) {
		return true
	}
	var ae *mapbox.APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusRequestTimeout
}

func (s uploads) created(ctx context.Context, j state.Job, up mapbox.Upload) (state.Job, error) {
	// Mapbox has the upload: its ID must be recorded, or a restart would have
	// to find it again in a list that may no longer reach back to it. A state
	// database refusing the write (a full disk) is waited out.
	delay := s.backoff.Min
	for {
		nj, err := s.store.Created(j.ID, up.ID, up.Created)
		if err == nil {
			s.log.Info("created: Mapbox is processing", "job", nj, "upload_id", up.ID)
			signal(s.pollWake)
			return nj, nil
		}
		if errors.Is(err, state.ErrInvalidTransition) || errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrClosed) {
			return j, err
		}
		s.log.Error("Mapbox created the upload but the state database refused to record it; trying again",
			"job", j, "upload_id", up.ID, "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, s.backoff.Max)
	}
}

// findUpload looks in Mapbox's list for the upload an earlier create of
// the job made. A candidate is an upload of the job's tileset created,
// on Mapbox's clock, since that create was sent (less a margin), and not
// already accounted for in the state (the tileset's last upload, its
// history, its other jobs): the upload of the content the tileset held
// before is never taken for this one. The newest candidate wins. The list
// is read page by page, newest first, until it reaches uploads older than
// the window (at most maxRecoveryPages pages).
func (s uploads) findUpload(ctx context.Context, j state.Job) (mapbox.Upload, bool, error) {
	opts := mapbox.ListOptions{Limit: mapbox.MaxListLimit}
	var since time.Time
	for page := 0; page < maxRecoveryPages; page++ {
		list, next, err := s.api.ListPage(ctx, opts)
		if err != nil {
			return mapbox.Upload{}, false, err
		}
		if page == 0 {
			since = s.recoverySince(j) // after an answer: Mapbox's clock is known
		}
		for _, u := range list { // newest first
			if u.Created.Before(since) {
				return mapbox.Upload{}, false, nil
			}
			if u.Tileset != j.Tileset {
				continue
			}
			known, err := s.store.KnownUpload(j.Tileset, u.ID)
			if err != nil {
				return mapbox.Upload{}, false, err
			}
			if !known && !s.sharedKnown(j, u.ID) {
				return u, true, nil
			}
		}
		if next == "" {
			return mapbox.Upload{}, false, nil
		}
		opts.Start = next
	}
	s.log.Warn("cannot confirm whether an earlier create was received: Mapbox's list is too long to read back to it; creating again",
		"job", j, "create_sent_at", j.CreateSentAt)
	return mapbox.Upload{}, false, nil
}

// recoverySince is when, on Mapbox's clock, an upload made by the job's
// first create could have been created at the earliest.
func (s uploads) recoverySince(j state.Job) time.Time {
	if !j.CreateSentServer.IsZero() {
		return j.CreateSentServer.Add(-serverClockMargin)
	}
	if off, ok := s.api.ClockOffset(); ok {
		// This machine's clock may have been stepped since the create.
		return j.CreateSentAt.Add(off).Add(-clockSkew)
	}
	return j.CreateSentAt.Add(-clockSkew)
}

// Margins of the recovery window: serverClockMargin where the create's time
// on Mapbox's clock was recorded (its Date header has whole seconds, and
// the request took some time), clockSkew where only this machine's clock
// was.
const (
	serverClockMargin = 10 * time.Second
	clockSkew         = 5 * time.Minute
)

// maxRecoveryPages bounds the list pages read to recover one create (100
// uploads a page).
const maxRecoveryPages = 20

// Check lists the newest uploads and reads every processing job's upload
// from the list; a due job whose upload the list misses is asked for alone.
// Statuses read before an error are returned with it.
func (s uploads) Check(ctx context.Context, jobs []state.Job, due func(state.Job) bool) ([]Status, error) {
	list, err := s.api.List(ctx, mapbox.ListOptions{Limit: mapbox.MaxListLimit})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]mapbox.Upload, len(list))
	for _, u := range list {
		byID[u.ID] = u
	}
	var out []Status
	for _, j := range jobs {
		u, ok := byID[j.UploadID]
		if !ok {
			if !due(j) {
				continue
			}
			if u, err = s.api.Upload(ctx, j.UploadID); err != nil {
				if errors.Is(err, mapbox.ErrNotFound) {
					out = append(out, Status{Job: j, UploadID: j.UploadID, Failed: "Mapbox no longer knows upload " + j.UploadID})
					continue
				}
				return out, err
			}
		}
		st := Status{Job: j, UploadID: u.ID, Complete: u.Complete, Progress: u.Progress}
		if msg, failed := u.Failed(); failed {
			st.Failed, st.Restage = "Mapbox could not process the file: "+msg, stagedObjectGone(msg)
			if st.Restage {
				st.Failed = msg
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// stagedObjectGone reports whether an upload failed because the staged
// object was not there (the staging bucket dropped it): the bytes are
// staged again, not given up on.
func stagedObjectGone(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "could not find the staged file")
}

// sourceGone reports that the job's file is gone. While intake still has
// its record, the removal is yet to be taken: the job waits for it (intake
// then cancels the job, and hands the tileset to another file that maps to
// it if need be). Once the record is gone too, the removal was taken while
// the job was under way, which intake leaves to the job: the error, which
// matches fs.ErrNotExist, ends it (handle).
func (s uploads) sourceGone(j state.Job) error {
	p := filepath.Join(j.Source.Watch, filepath.FromSlash(j.Source.Path))
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, known, err := s.store.File(j.Source); err != nil || known {
		return waitUntil{at: s.now().Add(busyWait), why: "the file is gone: waiting for its removal to be taken"}
	}
	return fmt.Errorf("%s is gone: %w", p, fs.ErrNotExist)
}
