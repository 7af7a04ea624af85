package intake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
)

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

// Adopt records the file at rel in watch folder w as what its tileset
// already holds, without sending it (tilesyncd adopt). It returns the
// tileset, or why the file was not adopted.
func (in *Intake) Adopt(ctx context.Context, w *config.Watch, rel string) (tileset string, err error) {
	abs := filepath.Join(w.Path, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	d := plan.Decide(in.cfg, w, rel, abs, fi.Size(), func(name string) bool { _, ok := findSibling(dir, name); return ok })
	if d.Action != plan.Upload {
		return "", fmt.Errorf("not a file tilesyncd would upload (%s: %s)", d.Action, d.Reason)
	}
	sendPath, sha, _, _, err := in.contentFor(ctx, abs, d)
	if err != nil {
		return "", err
	}
	in.removeSpool(sendPath, abs)
	sig := signatureOf(abs, fi)
	rec := state.FileRecord{Key: state.FileKey{Watch: w.Path, Path: rel}, Size: sig.size, ModTime: sig.modTime,
		FileID: sig.fileID, SHA256: sha, Tileset: d.Tileset}
	return d.Tileset, in.store.Adopt(rec)
}
