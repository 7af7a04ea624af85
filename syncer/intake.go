package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// errUnreadable marks a file Ingest could not read (permissions, a file
// locked by its writer, an I/O error): intake takes it again later.
var errUnreadable = errors.New("cannot read the file")

// Ingest takes one watcher event: a ready file is refused, skipped or queued;
// a removed file is forgotten (a job already queued for it is left to fail
// or finish). It returns an error wrapping errUnreadable for a file it cannot
// read, or the state database's error; Run's intake tries either again later.
func (s *Syncer) Ingest(ctx context.Context, ev watcher.Event) error {
	s.stats.Seen.Add(1)
	w := s.watchOf(ev.Root)
	if w == nil {
		return fmt.Errorf("event for %s, which is not a watch folder", ev.Root)
	}
	rel := ev.Rel
	if ev.Kind == watcher.Removed {
		if _, isPart := format.ShapefileSidecar(path.Base(rel)); !isPart {
			return s.removed(state.FileKey{Watch: w.Path, Path: rel})
		}
	}
	// A change to a shapefile's part is a change to the shapefile.
	if shp, isPart := format.ShapefileSidecar(path.Base(rel)); isPart {
		if found, ok := findSibling(filepath.Join(w.Path, filepath.FromSlash(path.Dir(rel))), path.Base(shp)); ok {
			rel = path.Join(path.Dir(rel), found)
		} else if ev.Kind == watcher.Removed {
			return nil
		}
	}
	if rel == ev.Rel && ev.Kind == watcher.Ready && ev.FileID != "" {
		// The watcher's stat is as good as ours: a file changed since is
		// reported again once it settles.
		abs := filepath.Join(w.Path, filepath.FromSlash(rel))
		sig := signature{size: ev.Size, modTime: ev.ModTime.UnixNano(), fileID: ev.FileID}.withParts(abs)
		return s.ingestReported(ctx, w, rel, ev.Size, sig, plan.DecideReported)
	}
	return s.ingestFile(ctx, w, rel)
}

func (s *Syncer) watchOf(root string) *config.Watch {
	for _, w := range s.cfg.Watch {
		if w.Path == root {
			return w
		}
	}
	return nil
}

// findSibling looks for name in dir, ignoring case, and returns it as it is on disk.
func findSibling(dir, name string) (string, bool) {
	if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
		return name, true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		if strings.EqualFold(e.Name(), name) {
			return e.Name(), true
		}
	}
	return "", false
}

// signature is what the cheap "unchanged?" test compares: for a shapefile,
// the sum of its parts' sizes and the latest of their times.
type signature struct {
	size    int64
	modTime int64
	fileID  string
}

func signatureOf(abs string, fi fs.FileInfo) signature {
	return signature{size: fi.Size(), modTime: fi.ModTime().UnixNano(), fileID: state.FileIdentity(fi)}.withParts(abs)
}

// withParts adds, for the .shp at abs, its parts' sizes and times.
func (sig signature) withParts(abs string) signature {
	if strings.EqualFold(filepath.Ext(abs), ".shp") {
		if parts, err := format.ShapefileParts(abs); err == nil {
			for _, p := range parts[1:] {
				if pi, err := os.Stat(p); err == nil {
					sig.size += pi.Size()
					sig.modTime = max(sig.modTime, pi.ModTime().UnixNano())
				}
			}
		}
	}
	return sig
}

// changedOf is changedAt of the file at abs whose stat is fi, or for a
// .shp the latest of its parts'.
func changedOf(abs string, fi fs.FileInfo) time.Time {
	t := changedAt(fi)
	if strings.EqualFold(filepath.Ext(abs), ".shp") {
		if parts, err := format.ShapefileParts(abs); err == nil {
			for _, p := range parts[1:] {
				if pi, err := os.Stat(p); err == nil && changedAt(pi).After(t) {
					t = changedAt(pi)
				}
			}
		}
	}
	return t
}

// changedLater reports whether the file at key, another file that the
// rules send to the same tileset (a conflict), changed after than (a file
// that is gone changed before anything).
func (s *Syncer) changedLater(key state.FileKey, than time.Time) bool {
	w := s.watchOf(key.Watch)
	if w == nil {
		return false
	}
	abs := filepath.Join(w.Path, filepath.FromSlash(key.Path))
	fi, err := os.Stat(abs)
	return err == nil && changedOf(abs, fi).After(than)
}

func (sig signature) matches(rec state.FileRecord) bool {
	return rec.Size == sig.size && rec.ModTime == sig.modTime && (rec.FileID == "" || sig.fileID == "" || rec.FileID == sig.fileID)
}

func (s *Syncer) ingestFile(ctx context.Context, w *config.Watch, rel string) error {
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w", errUnreadable, err)
		}
		return nil
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return s.ingestReported(ctx, w, rel, fi.Size(), signatureOf(abs, fi), plan.Decide)
}

// ingestReported decides a file of the given size (its own: the rules'
// limits apply to it) and signature with decide (plan.Decide, or
// plan.DecideReported for the watcher's report), and reads its record.
func (s *Syncer) ingestReported(ctx context.Context, w *config.Watch, rel string, size int64, sig signature,
	decide func(*config.Config, *config.Watch, string, string, int64, plan.Siblings) plan.Decision) error {
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	dir := filepath.Dir(abs)
	d := decide(s.cfg, w, rel, abs, size, func(name string) bool { _, ok := findSibling(dir, name); return ok })
	rec, known, err := s.store.File(state.FileKey{Watch: w.Path, Path: rel})
	if err != nil {
		return err
	}
	return s.ingestDecided(ctx, w, d, sig, rec, known)
}

// IngestScanned is Ingest for a file a walk has already stated and decided
// (plan.Walk, with Decision.Info set), given its state record if it has one:
// sync --once reads a folder's records in one go and stats each file once.
// A file it cannot read is logged and left for the next sync.
func (s *Syncer) IngestScanned(ctx context.Context, w *config.Watch, d plan.Decision, rec state.FileRecord, known bool) error {
	s.stats.Seen.Add(1)
	if d.Info == nil || !d.Info.Mode().IsRegular() {
		return nil
	}
	abs := filepath.Join(w.Path, filepath.FromSlash(d.Path))
	err := s.ingestDecided(ctx, w, d, signatureOf(abs, d.Info), rec, known)
	if errors.Is(err, errUnreadable) {
		s.log.Warn("cannot read the file; it will be tried again at the next sync", "path", abs, "err", err)
		return nil
	}
	return err
}

// ingestDecided refuses, skips or queues a file whose decision and
// signature (from a stat taken before reading it) are known.
func (s *Syncer) ingestDecided(ctx context.Context, w *config.Watch, d plan.Decision, sig signature, rec state.FileRecord, known bool) error {
	rel := d.Path
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	key := state.FileKey{Watch: w.Path, Path: rel}
	if d.Action != plan.Upload {
		return s.notUploaded(s.log.With("path", abs), key, d, sig, rec, known)
	}
	if known && sig.matches(rec) && rec.Tileset == d.Tileset {
		switch rec.Outcome {
		case state.OutcomeUploaded, state.OutcomeUnchanged, state.OutcomePending, state.OutcomeFailed, state.OutcomeSuperseded:
			// Done, queued, failed, or replaced by another file's newer
			// content for the tileset (a conflict) for these very bytes:
			// nothing to read.
			return nil
		}
	}

	log := s.log.With("path", abs) // past the cheap skip: worth its allocation
	sendPath, sha, size, err := s.content(ctx, abs)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopping: not a file that cannot be read
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil // gone: its removal is reported
		}
		return fmt.Errorf("%w: %w", errUnreadable, err)
	}
	after, err := os.Stat(abs)
	if err != nil || signatureOf(abs, after) != sig {
		log.Info("file changed while being read; waiting for it to settle")
		return nil
	}
	mine := changedOf(abs, after)
	newRec := state.FileRecord{Key: key, Size: sig.size, ModTime: sig.modTime, FileID: sig.fileID, SHA256: sha, Tileset: d.Tileset}
	// "Unchanged" is judged against what the tileset will hold once its
	// queue drains, in the transaction that queues: content put back while
	// newer content is in flight is queued behind it, not skipped.
	res, err := s.store.Enqueue(state.NewJob{Tileset: d.Tileset, Name: d.Name, Source: key, SHA256: sha, Size: size,
		File: &newRec, SkipHeld: true, LosesTo: func(other state.FileKey) bool { return s.changedLater(other, mine) }})
	if err != nil {
		return err
	}
	if res.Held {
		s.stats.Unchanged.Add(1)
		log.Info("skip: unchanged", "tileset", d.Tileset, "sha256", sha[:12])
		s.removeSpool(sendPath, abs)
		return nil
	}
	if res.Lost != nil {
		log.Warn("conflict: not sent, another file for the same tileset changed later", "tileset", d.Tileset,
			"other", res.Lost.String())
		s.removeSpool(sendPath, abs)
		return nil
	}
	for _, old := range res.Superseded {
		log.Info("superseded: newer content for the tileset replaces a queued one", "tileset", d.Tileset, "superseded_path", old.Source.String())
	}
	if !res.Existing {
		s.stats.Queued.Add(1)
		log.Info("queued", "tileset", d.Tileset, "name", d.Name, "bytes", size, "sha256", sha[:12], "job", res.Job.ID)
	}
	signal(s.wake)
	return nil
}

// notUploaded records a file that will not be uploaded, logging a refusal
// once per content (a rescan does not log it again).
func (s *Syncer) notUploaded(log *slog.Logger, key state.FileKey, d plan.Decision, sig signature, rec state.FileRecord, known bool) error {
	outcome := state.Outcome("")
	if d.Action == plan.Refused {
		outcome = state.OutcomeRefused
	}
	if known && sig.matches(rec) && rec.Outcome == outcome && rec.Reason == d.Reason {
		return nil
	}
	newRec := state.FileRecord{Key: key, Size: sig.size, ModTime: sig.modTime, FileID: sig.fileID, Tileset: d.Tileset, Outcome: outcome, Reason: d.Reason}
	if outcome == state.OutcomeRefused {
		s.stats.Refused.Add(1)
		log.Warn("refused: not sent to Mapbox", "reason", d.Reason, "tileset", d.Tileset)
		return s.store.RecordOutcome(newRec)
	}
	return s.store.PutFile(newRec)
}

// content returns the path of the bytes to send for the file at abs, their
// SHA-256 and size: the file itself, or for a shapefile a zip of it and its
// parts, made in the spool folder and named by its hash.
//
// Every file is opened once, through its watch folder (watcher.Folder): a
// link whose target is outside the folder is refused unless the folder
// follows links (watcher.ErrLinkLeaves), and anything but a regular file is
// refused without blocking (watcher.ErrNotRegular); the bytes hashed or
// zipped are read from the descriptors so checked. Hashing and zipping check
// ctx between chunks and return its error once it is done.
func (s *Syncer) content(ctx context.Context, abs string) (sendPath, sha string, size int64, err error) {
	folder, rel, err := s.folderOf(abs)
	if err != nil {
		return "", "", 0, err
	}
	defer folder.Close()
	if !strings.EqualFold(filepath.Ext(abs), ".shp") {
		f, _, err := folder.Open(rel)
		if err != nil {
			return "", "", 0, err
		}
		defer f.Close()
		sha, size, err = hashReader(ctx, f)
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("hash %s: %w", abs, err)
		}
		return abs, sha, size, err
	}
	return s.zipFrom(ctx, folder, abs)
}

// folderOf opens the watch folder holding abs and returns abs relative to it.
func (s *Syncer) folderOf(abs string) (*watcher.Folder, string, error) {
	w, rel, ok := s.cfg.WatchFor(abs)
	if !ok {
		return nil, "", fmt.Errorf("%s is in no watch folder", abs)
	}
	folder, err := watcher.OpenFolder(w.Path, w.FollowLinks)
	if err != nil {
		return nil, "", err
	}
	return folder, rel, nil
}

// zipShapefile zips the shapefile whose .shp is shp into the spool,
// opening its parts through its watch folder (see content).
func (s *Syncer) zipShapefile(ctx context.Context, shp string) (string, string, int64, error) {
	folder, _, err := s.folderOf(shp)
	if err != nil {
		return "", "", 0, err
	}
	defer folder.Close()
	return s.zipFrom(ctx, folder, shp)
}

// zipFrom zips the shapefile whose .shp is shp, in folder, into the spool
// and returns the zip's path, SHA-256 and size. Its parts are opened once
// each; the shapefile is refused by its parts' sizes (every part counts:
// format.ShapefileSizeRefusal) and when the spool has not room for the zip
// and a margin (checkSpoolRoom), before a byte is written.
func (s *Syncer) zipFrom(ctx context.Context, folder *watcher.Folder, shp string) (string, string, int64, error) {
	sf, err := format.OpenShapefile(shp, func(p string) (*os.File, fs.FileInfo, error) {
		_, rel, _ := s.cfg.WatchFor(p)
		return folder.Open(rel)
	})
	if err != nil {
		return "", "", 0, err
	}
	defer sf.Close()
	if refusal := format.ShapefileSizeRefusal(sf.Sizes()); refusal != "" {
		return "", "", 0, fmt.Errorf("shapefile %s: %s", shp, refusal)
	}
	if err := checkSpoolRoom(s.spool, shp, zipBound(sf.Total())); err != nil {
		return "", "", 0, err
	}
	tmp, err := os.CreateTemp(s.spool, "shapefile-*.zip.tmp")
	if err != nil {
		return "", "", 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	if err := sf.Zip(ctx, cw); err != nil {
		tmp.Close()
		return "", "", 0, err
	}
	if err := tmp.Close(); err != nil {
		return "", "", 0, err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	final := filepath.Join(s.spool, sha+".zip")
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", "", 0, err
	}
	return final, sha, cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// removeSpool deletes a shapefile's zip once it is no longer needed.
func (s *Syncer) removeSpool(sendPath, source string) {
	if sendPath != source && strings.HasPrefix(sendPath, s.spool) {
		os.Remove(sendPath)
	}
}

// sendPathOf returns the bytes to stage for a job: the source file, or the
// shapefile's zip in the spool folder (made again if it is gone).
func (s *Syncer) sendPathOf(ctx context.Context, j state.Job) (string, error) {
	w := s.watchOf(j.Source.Watch)
	base := j.Source.Watch
	if w != nil {
		base = w.Path
	}
	abs := filepath.Join(base, filepath.FromSlash(j.Source.Path))
	if !strings.EqualFold(filepath.Ext(abs), ".shp") {
		return abs, nil
	}
	zipped := filepath.Join(s.spool, j.SHA256+".zip")
	if _, err := os.Stat(zipped); err == nil {
		return zipped, nil
	}
	p, _, _, err := s.zipShapefile(ctx, abs)
	return p, err
}

// Settled says, from the state alone and without reading the file, whether
// the file at rel in watch folder w needs no upload because its last
// outcome for these very bytes (same size, time and file ID) stands: it was
// uploaded or found unchanged ("unchanged"), is queued ("queued"), or failed
// ("failed: …", not retried until it changes). tilesyncd plan uses it.
func Settled(store *state.Store, w *config.Watch, rel, tileset string) (string, bool) {
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		return "", false
	}
	rec, ok, err := store.File(state.FileKey{Watch: w.Path, Path: rel})
	if err != nil || !ok || rec.Tileset != tileset || !signatureOf(abs, fi).matches(rec) {
		return "", false
	}
	switch rec.Outcome {
	case state.OutcomeUploaded, state.OutcomeUnchanged:
		return "unchanged", true
	case state.OutcomePending:
		return "queued", true
	case state.OutcomeFailed:
		return "failed: " + rec.Reason + " (not retried until the file changes; see tilesyncd retry)", true
	case state.OutcomeSuperseded:
		return "superseded: another file's newer content went to the tileset (not sent until this file changes)", true
	}
	return "", false
}

// removed forgets a file that is gone. Its jobs not yet under way are
// cancelled (or moved to a copy that holds the same content: a move). If
// the tileset it went to was to hold its content, another file that the
// rules send to the same tileset (a conflict) now decides what the tileset
// holds: unless one of them holds what the tileset will hold now, each is
// read again and queued, so the tileset does not keep the content of a
// file the folder no longer has while another file maps to it. That costs
// one pass over the file index, only when the removed file's content was
// the tileset's to be.
func (s *Syncer) removed(key state.FileKey) error {
	rec, known, err := s.store.File(key)
	if err != nil {
		return err
	}
	winner := false
	if known && rec.Tileset != "" && rec.SHA256 != "" {
		held, ok, err := s.store.Destined(rec.Tileset)
		if err != nil {
			return err
		}
		winner = ok && held == rec.SHA256
	}
	// A job not yet under way for the file's content need not be sent.
	cancelled, err := s.store.SourceRemoved(key)
	if err != nil {
		return err
	}
	for _, j := range cancelled {
		s.stats.Cancelled.Add(1)
		s.log.Info("cancelled: the file was removed before it was sent", "job", j)
	}
	var others []state.FileKey
	if winner || len(cancelled) > 0 {
		// The others are marked to be read again before the record goes:
		// an error leaves the record for intake's retry of this event.
		if others, err = s.resendOthers(key, rec.Tileset); err != nil {
			return err
		}
	}
	if err := s.store.RemoveFile(key); err != nil {
		return err
	}
	for _, o := range others {
		s.readAgain(o) // now that the removed file competes no more
	}
	return nil
}

// resendOthers returns the files other than key that the rules send to
// tileset, each marked to be read again, unless one of them holds what the
// tileset will hold (then none).
func (s *Syncer) resendOthers(key state.FileKey, tileset string) ([]state.FileKey, error) {
	held, _, err := s.store.Destined(tileset)
	if err != nil {
		return nil, err
	}
	var others []state.FileRecord
	err = s.store.Files("", func(o state.FileRecord) error {
		if o.Tileset == tileset && o.Key != key && o.Outcome != state.OutcomeRefused {
			others = append(others, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if o.SHA256 == held {
			return nil, nil // another file holds the content: nothing changes
		}
	}
	var keys []state.FileKey
	for _, o := range others {
		if s.watchOf(o.Key.Watch) == nil {
			continue
		}
		s.log.Info("a file of the tileset was removed; sending another file that maps to it", "tileset", tileset,
			"removed", key.String(), "path", o.Key.String())
		o.ModTime, o.Outcome = 0, "" // read it again, whatever it was
		if err := s.store.PutFile(o); err != nil {
			return nil, err
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}

// Adopt records the file at rel in watch folder w as what its tileset
// already holds, without sending it (tilesyncd adopt). It returns the
// tileset, or why the file was not adopted.
func (s *Syncer) Adopt(ctx context.Context, w *config.Watch, rel string) (tileset string, err error) {
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	d := plan.Decide(s.cfg, w, rel, abs, fi.Size(), func(name string) bool { _, ok := findSibling(dir, name); return ok })
	if d.Action != plan.Upload {
		return "", fmt.Errorf("not a file tilesyncd would upload (%s: %s)", d.Action, d.Reason)
	}
	sendPath, sha, _, err := s.content(ctx, abs)
	if err != nil {
		return "", err
	}
	s.removeSpool(sendPath, abs)
	sig := signatureOf(abs, fi)
	rec := state.FileRecord{Key: state.FileKey{Watch: w.Path, Path: rel}, Size: sig.size, ModTime: sig.modTime,
		FileID: sig.fileID, SHA256: sha, Tileset: d.Tileset}
	return d.Tileset, s.store.Adopt(rec)
}
