package intake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/convert"
	"github.com/tilesyncd/tilesyncd/convert/changeset"
	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/plan"
	"github.com/tilesyncd/tilesyncd/state"
)

// A file an MTS rule sends is converted, streaming, to line-delimited
// GeoJSON in the spool, named by its content hash: the hash of the
// converted bytes and the rendered recipe (state.MTSContentHash), which is
// what "unchanged" compares. The sender replaces the tileset source with
// that spool file and publishes. The file is opened once, through its
// watch folder, as content does; a bare shapefile is zipped into the spool
// first (its parts opened so) and the zip converted.

// mtsSpoolExt ends the name of a converted file in the spool.
const mtsSpoolExt = ".geojsonl"

// refusedConversion starts the reason of a file whose content cannot be
// converted for MTS; such a file is not read again until it changes.
const refusedConversion = "cannot be converted for MTS: "

// mtsJob is what an MTS job carries beside its content (state.NewJob).
type mtsJob struct {
	target, sourceID string
	recipe           []byte
	incremental      bool
}

// contentFor is content for a file of the Uploads API, and for a file an
// MTS rule sends, its conversion into the spool (see mtsContent).
func (in *Intake) contentFor(ctx context.Context, abs string, d plan.Decision) (sendPath, sha string, size int64, mj mtsJob, err error) {
	if d.MTS == nil {
		sendPath, sha, size, err = in.content(ctx, abs)
		return sendPath, sha, size, mtsJob{}, err
	}
	if len(d.MTS.Recipe) == 0 {
		return "", "", 0, mtsJob{}, fmt.Errorf("%s: the recipe of its rule was not loaded", abs)
	}
	sendPath, st, err := in.mtsContent(ctx, abs, d.MTS.Recipe)
	if err != nil {
		return "", "", 0, mtsJob{}, err
	}
	return sendPath, state.MTSContentHash(st.SHA256, d.MTS.Recipe), st.Bytes,
		mtsJob{target: state.TargetMTS, sourceID: d.MTS.SourceID, recipe: d.MTS.Recipe, incremental: d.MTS.Incremental}, nil
}

// mtsContent converts the file at abs into the spool, as the file
// spool/{MTSContentHash(converted, recipe)}.geojsonl, and returns its path
// and the conversion's Stats. Content MTS cannot take (bad data, an
// unsupported geometry or projection, no features, over the source file
// limit) is an error wrapping errRefused.
func (in *Intake) mtsContent(ctx context.Context, abs string, recipe []byte) (string, convert.Stats, error) {
	tmp, err := os.CreateTemp(in.spool, "mts-*"+mtsSpoolExt+".tmp")
	if err != nil {
		return "", convert.Stats{}, err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	bw := bufio.NewWriterSize(tmp, 256<<10)
	st, err := in.convertFile(ctx, abs, bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return "", st, err
	case st.Features == 0:
		return "", st, refused("no features to publish (%d without geometry)", st.SkippedNoGeometry)
	case st.Bytes > plan.MaxMTSSourceFile:
		return "", st, refused("converted to %s, over MTS's %s for a source file", format.HumanBytes(st.Bytes), format.LimitString(plan.MaxMTSSourceFile))
	}
	final := filepath.Join(in.spool, state.MTSContentHash(st.SHA256, recipe)+mtsSpoolExt)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", st, err
	}
	return final, st, nil
}

// errRefused marks content MTS cannot take (mtsContent).
var errRefused = errors.New("refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errRefused}, args...)...)
}

// convertFile converts the file at abs to w, opening it through its watch
// folder (a bare shapefile: zipped into the spool first).
func (in *Intake) convertFile(ctx context.Context, abs string, w *bufio.Writer) (convert.Stats, error) {
	folder, rel, err := in.folderOf(abs)
	if err != nil {
		return convert.Stats{}, err
	}
	defer folder.Close()
	var input convert.Input
	if strings.EqualFold(filepath.Ext(abs), ".shp") {
		// Converted, not sent: the Uploads API's shapefile limit does not bind it.
		zipped, _, _, err := in.zipFrom(ctx, folder, abs, false)
		if err != nil {
			return convert.Stats{}, err
		}
		defer os.Remove(zipped)
		input = convert.Input{Path: zipped, Kind: convert.ShapefileZip}
	} else {
		f, fi, err := folder.Open(rel)
		if err != nil {
			return convert.Stats{}, err
		}
		defer f.Close()
		// The conversion is about the file's size (GeoJSON compacted; CSV,
		// GPX and KML grow): at least that and the margin must be free.
		if err := checkSpoolRoom(in.spool, abs, fi.Size()); err != nil {
			return convert.Stats{}, err
		}
		kind, err := convert.Detect(abs) // by the extension, which plan checked: abs is not opened
		if err != nil {
			return convert.Stats{}, fmt.Errorf("%w: %w", errRefused, err)
		}
		input = convert.Input{Path: descriptorPath(f, abs), Kind: kind}
	}
	st, err := convert.Convert(ctx, input, w)
	var ce *convert.Error
	if errors.As(err, &ce) {
		ce.File = abs // not the descriptor's or the zip's name
		return st, fmt.Errorf("%w: %w", errRefused, ce)
	}
	return st, err
}

// descriptorPath names the open file f so that opening the name opens f's
// file, not whatever abs points to by then: /dev/fd/N where the system has
// it (a link swapped in after f was checked cannot lead out of the watch
// folder). Elsewhere (Windows) it is abs, checked when f was opened.
func descriptorPath(f *os.File, abs string) string {
	if runtime.GOOS == "windows" {
		return abs
	}
	p := fmt.Sprintf("/dev/fd/%d", f.Fd())
	if _, err := os.Stat(p); err != nil {
		return abs
	}
	return p
}

// mtsSkip is the cheap "unchanged?" test's part for MTS, before the file
// is read: for a file an MTS rule sends (d.MTS set), it reports whether the
// file is known as refused for its content (skip it); and it clears *known
// when the recipe its tileset will hold is not its rule's (a recipe
// edited: the file is converted again and published with the new one) or
// when the tileset was last sent through the other target (a rule's target
// changed). Files of the Uploads API are looked at only when some rule
// targets MTS (a store read each).
func (in *Intake) mtsSkip(d plan.Decision, sig signature, rec state.FileRecord, known *bool) (bool, error) {
	if !*known || !sig.matches(rec) || rec.Tileset != d.Tileset || d.MTS == nil && !in.hasMTS {
		return false, nil
	}
	if d.MTS != nil && rec.Outcome == state.OutcomeRefused && strings.HasPrefix(rec.Reason, refusedConversion) {
		return true, nil
	}
	held, ok, err := in.store.ExpectedRecipe(d.Tileset)
	if err != nil {
		return false, err
	}
	want := ""
	if d.MTS != nil {
		want = state.RecipeHash(d.MTS.Recipe)
	}
	if ok && held != want {
		*known = false
	}
	return false, nil
}

// refuseConversion records a file whose content MTS cannot take, once per
// content (it is not read again until it changes); a file that changed
// while it was read is left for its next report.
func (in *Intake) refuseConversion(key state.FileKey, d plan.Decision, sig signature, err error) error {
	abs := filepath.Join(key.Watch, filepath.FromSlash(key.Path))
	if w := in.watchOf(key.Watch); w != nil {
		abs = filepath.Join(w.Path, filepath.FromSlash(key.Path))
	}
	if after, serr := os.Stat(abs); serr != nil || signatureOf(abs, after) != sig {
		return nil
	}
	reason := RefusalReason(err)
	in.stats.Refused.Add(1)
	in.log.Warn("refused: not sent to Mapbox", "path", abs, "reason", reason, "tileset", d.Tileset)
	in.refused(key, d.Tileset, reason)
	return in.refuse(state.FileRecord{Key: key, Size: sig.size, ModTime: sig.modTime, FileID: sig.fileID,
		Tileset: d.Tileset, Outcome: state.OutcomeRefused, Reason: reason})
}

// mtsSendPath is SendPath for an MTS job: its converted file in the spool
// while the job's file is as intake recorded it with the job's content;
// otherwise (the file changed, the spool file is gone) the file converted
// again, named by what it gives now, so that the sender finds a changed
// file changed, as it does for the Uploads API by hashing what it stages.
func (in *Intake) mtsSendPath(ctx context.Context, j state.Job, abs string) (string, error) {
	p := filepath.Join(in.spool, j.SHA256+mtsSpoolExt)
	rec, known, err := in.store.File(j.Source)
	if err != nil {
		return "", err
	}
	if fi, serr := os.Stat(abs); serr == nil && known && rec.SHA256 == j.SHA256 && signatureOf(abs, fi).matches(rec) {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, _, err = in.mtsContent(ctx, abs, j.Recipe)
	if errors.Is(err, errRefused) { // it was converted before: it changed
		return "", fmt.Errorf("%w: %w", state.ErrContentChanged, err)
	}
	return p, err
}

// PlanMTS converts the file of d, a decision of an MTS rule, without
// keeping what it writes (`tilesyncd plan`): what the conversion gives, or
// why MTS cannot take the file. The file is opened as the daemon opens it;
// a bare shapefile is zipped into a temporary folder first. For an
// incremental rule, with the state database (store, nil if it could not
// be opened), it also says whether the change would go as a changeset, and
// of how many features.
func PlanMTS(ctx context.Context, cfg *config.Config, d plan.Decision, store *state.Store) (plan.Conversion, error) {
	tmp, err := os.MkdirTemp("", "tilesyncd-plan-")
	if err != nil {
		return plan.Conversion{}, err
	}
	defer os.RemoveAll(tmp)
	w := cfg.WatchByPath()[d.Watch]
	if w == nil {
		return plan.Conversion{}, fmt.Errorf("%s is not a watch folder", d.Watch)
	}
	in := &Intake{cfg: cfg, spool: tmp}
	out := io.Discard
	converted := filepath.Join(tmp, "converted"+mtsSpoolExt)
	if d.MTS != nil && d.MTS.Incremental && store != nil {
		f, err := os.Create(converted)
		if err != nil {
			return plan.Conversion{}, err
		}
		defer f.Close()
		out = f
	}
	bw := bufio.NewWriter(out)
	st, err := in.convertFile(ctx, filepath.Join(w.Path, filepath.FromSlash(d.Path)), bw)
	if err == nil {
		err = bw.Flush()
	}
	c := plan.Conversion{Kind: st.Kind.String(), Features: st.Features, Bytes: st.Bytes, SkippedNoGeometry: st.SkippedNoGeometry}
	for _, k := range st.Nested {
		c.Nested = append(c.Nested, k.Key)
	}
	switch {
	case err != nil:
		return c, err
	case st.Features == 0:
		return c, refused("no features to publish (%d without geometry)", st.SkippedNoGeometry)
	case out != io.Discard:
		planChangeset(ctx, cfg, store, d, converted, &c)
	}
	return c, nil
}

// planChangeset fills in whether the converted file of d (an incremental
// rule's) would go as a changeset against what its tileset holds, as the
// sender decides it (syncer/mts_changeset.go).
func planChangeset(ctx context.Context, cfg *config.Config, store *state.Store, d plan.Decision, converted string, c *plan.Conversion) {
	ts, ok, err := store.Tileset(d.Tileset)
	if err != nil || !ok || ts.UploadID == "" || ts.Recipe != state.RecipeHash(d.MTS.Recipe) {
		return // never published, or with another recipe: in full
	}
	res, err := changeset.Diff(ctx, state.MTSIndexPath(cfg.State.Path, d.Tileset, ts.SHA256), converted, io.Discard,
		filepath.Join(filepath.Dir(converted), "new.idx"), changeset.DefaultMaxShare)
	if err != nil || res.Full || res.Changes() == 0 {
		return
	}
	c.Changeset, c.Changed, c.Removed = true, res.Added+res.Changed, res.Removed
}

// RefusalReason is the reason plan and the log give for a conversion
// error of PlanMTS or of the daemon.
func RefusalReason(err error) string {
	return refusedConversion + strings.TrimPrefix(err.Error(), errRefused.Error()+": ")
}

// RecipeChanged reports whether the tileset of d, a decision of an MTS
// rule, will hold another recipe than d's once its queue drains: the file
// is then published again, however unchanged.
func RecipeChanged(store *state.Store, d plan.Decision) bool {
	if d.MTS == nil {
		return false
	}
	held, ok, err := store.ExpectedRecipe(d.Tileset)
	return err == nil && ok && held != state.RecipeHash(d.MTS.Recipe)
}
