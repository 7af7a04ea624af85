package intake

import (
	"context"
	"errors"
	"fmt"
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
func (in *Intake) Ingest(ctx context.Context, ev watcher.Event) error {
	in.stats.Seen.Add(1)
	w := in.watchOf(ev.Root)
	if w == nil {
		return fmt.Errorf("event for %s, which is not a watch folder", ev.Root)
	}
	rel := ev.Rel
	if ev.Kind == watcher.Removed {
		if _, isPart := format.ShapefileSidecar(path.Base(rel)); !isPart {
			return in.removed(state.FileKey{Watch: w.Path, Path: rel})
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
		return in.ingestReported(ctx, w, rel, ev.Size, sig, plan.DecideReported)
	}
	return in.ingestFile(ctx, w, rel)
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
// rules send to the same tileset (a conflict), changed after than or at
// that very time (a file that is gone changed before anything). A tie,
// two changes within one tick of the file system's clock, goes to the
// other file, whose content the tileset holds or will hold: one upload,
// not a second over it.
func (in *Intake) changedLater(key state.FileKey, than time.Time) bool {
	w := in.watchOf(key.Watch)
	if w == nil {
		return false
	}
	abs := filepath.Join(w.Path, filepath.FromSlash(key.Path))
	fi, err := os.Stat(abs)
	return err == nil && !changedOf(abs, fi).Before(than)
}

func (sig signature) matches(rec state.FileRecord) bool {
	return rec.Size == sig.size && rec.ModTime == sig.modTime && (rec.FileID == "" || sig.fileID == "" || rec.FileID == sig.fileID)
}

func (in *Intake) ingestFile(ctx context.Context, w *config.Watch, rel string) error {
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
	return in.ingestReported(ctx, w, rel, fi.Size(), signatureOf(abs, fi), plan.Decide)
}

// ingestReported decides a file of the given size (its own: the rules'
// limits apply to it) and signature with decide (plan.Decide, or
// plan.DecideReported for the watcher's report), and reads its record.
func (in *Intake) ingestReported(ctx context.Context, w *config.Watch, rel string, size int64, sig signature,
	decide func(*config.Config, *config.Watch, string, string, int64, plan.Siblings) plan.Decision) error {
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	dir := filepath.Dir(abs)
	d := decide(in.cfg, w, rel, abs, size, func(name string) bool { _, ok := findSibling(dir, name); return ok })
	rec, known, err := in.store.File(state.FileKey{Watch: w.Path, Path: rel})
	if err != nil {
		return err
	}
	return in.ingestDecided(ctx, w, d, sig, rec, known)
}

// IngestScanned is Ingest for a file a walk has already stated and decided
// (plan.Walk, with Decision.Info set), given its state record if it has one:
// sync --once reads a folder's records in one go and stats each file once.
// A file it cannot read is logged and left for the next sync.
func (in *Intake) IngestScanned(ctx context.Context, w *config.Watch, d plan.Decision, rec state.FileRecord, known bool) error {
	in.stats.Seen.Add(1)
	if d.Info == nil || !d.Info.Mode().IsRegular() {
		return nil
	}
	abs := filepath.Join(w.Path, filepath.FromSlash(d.Path))
	err := in.ingestDecided(ctx, w, d, signatureOf(abs, d.Info), rec, known)
	if errors.Is(err, errUnreadable) {
		in.log.Warn("cannot read the file; it will be tried again at the next sync", "path", abs, "err", err)
		return nil
	}
	return err
}

// ingestDecided refuses, skips or queues a file whose decision and
// signature (from a stat taken before reading it) are known.
func (in *Intake) ingestDecided(ctx context.Context, w *config.Watch, d plan.Decision, sig signature, rec state.FileRecord, known bool) error {
	rel := d.Path
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	key := state.FileKey{Watch: w.Path, Path: rel}
	if d.Action != plan.Upload {
		return in.notUploaded(in.log.With("path", abs), key, d, sig, rec, known)
	}
	if skip, err := in.mtsSkip(d, sig, rec, &known); err != nil || skip {
		return err // an MTS file refused for these bytes, or the state's error
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

	log := in.log.With("path", abs) // past the cheap skip: worth its allocation
	sendPath, sha, size, mj, err := in.contentFor(ctx, abs, d)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopping: not a file that cannot be read
		}
		if errors.Is(err, errRefused) {
			return in.refuseConversion(key, d, sig, err)
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
	res, err := in.store.Enqueue(state.NewJob{Tileset: d.Tileset, Name: d.Name, Source: key, SHA256: sha, Size: size,
		Target: mj.target, SourceID: mj.sourceID, Recipe: mj.recipe, Incremental: mj.incremental,
		File: &newRec, SkipHeld: true, LosesTo: func(other state.FileKey) bool { return in.changedLater(other, mine) }})
	if err != nil {
		return err
	}
	if res.Held {
		in.stats.Unchanged.Add(1)
		log.Info("skip: unchanged", "tileset", d.Tileset, "sha256", sha[:12])
		in.removeSpool(sendPath, abs)
		return nil
	}
	if res.Lost != nil {
		log.Warn("conflict: not sent, another file for the same tileset changed later", "tileset", d.Tileset,
			"other", res.Lost.String())
		in.removeSpool(sendPath, abs)
		return nil
	}
	for _, old := range res.Superseded {
		log.Info("superseded: newer content for the tileset replaces a queued one", "tileset", d.Tileset, "superseded_path", old.Source.String())
	}
	if !res.Existing {
		in.stats.Queued.Add(1)
		log.Info("queued", "tileset", d.Tileset, "name", d.Name, "bytes", size, "sha256", sha[:12], "job", res.Job.ID)
	}
	in.queued()
	return nil
}

// notUploaded records a file that will not be uploaded, logging a refusal
// once per content (a rescan does not log it again).
func (in *Intake) notUploaded(log *slog.Logger, key state.FileKey, d plan.Decision, sig signature, rec state.FileRecord, known bool) error {
	outcome := state.Outcome("")
	if d.Action == plan.Refused {
		outcome = state.OutcomeRefused
	}
	if known && sig.matches(rec) && rec.Outcome == outcome && rec.Reason == d.Reason {
		return nil
	}
	newRec := state.FileRecord{Key: key, Size: sig.size, ModTime: sig.modTime, FileID: sig.fileID, Tileset: d.Tileset, Outcome: outcome, Reason: d.Reason}
	if outcome == state.OutcomeRefused {
		in.stats.Refused.Add(1)
		log.Warn("refused: not sent to Mapbox", "reason", d.Reason, "tileset", d.Tileset)
		in.refused(key, d.Tileset, d.Reason)
		return in.refuse(newRec)
	}
	return in.store.PutFile(newRec)
}
