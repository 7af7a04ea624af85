package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/state"
	"github.com/tilesyncd/tilesyncd/watcher"
)

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
func (in *Intake) content(ctx context.Context, abs string) (sendPath, sha string, size int64, err error) {
	folder, rel, err := in.folderOf(abs)
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
	return in.zipFrom(ctx, folder, abs, true)
}

// folderOf opens the watch folder holding abs and returns abs relative to it.
func (in *Intake) folderOf(abs string) (*watcher.Folder, string, error) {
	w, rel, ok := in.cfg.WatchFor(abs)
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
func (in *Intake) zipShapefile(ctx context.Context, shp string) (string, string, int64, error) {
	folder, _, err := in.folderOf(shp)
	if err != nil {
		return "", "", 0, err
	}
	defer folder.Close()
	return in.zipFrom(ctx, folder, shp, true)
}

// zipFrom zips the shapefile whose .shp is shp, in folder, into the spool
// and returns the zip's path, SHA-256 and size. Its parts are opened once
// each; the shapefile is refused when the spool has not room for the zip
// and a margin (checkSpoolRoom) and, when sized (for the Uploads API), by
// its parts' sizes (every part counts: format.ShapefileSizeRefusal),
// before a byte is written.
func (in *Intake) zipFrom(ctx context.Context, folder *watcher.Folder, shp string, sized bool) (string, string, int64, error) {
	sf, err := format.OpenShapefile(shp, func(p string) (*os.File, fs.FileInfo, error) {
		_, rel, _ := in.cfg.WatchFor(p)
		return folder.Open(rel)
	})
	if err != nil {
		return "", "", 0, err
	}
	defer sf.Close()
	if refusal := format.ShapefileSizeRefusal(sf.Sizes()); sized && refusal != "" {
		return "", "", 0, fmt.Errorf("shapefile %s: %s", shp, refusal)
	}
	if err := checkSpoolRoom(in.spool, shp, zipBound(sf.Total())); err != nil {
		return "", "", 0, err
	}
	tmp, err := os.CreateTemp(in.spool, "shapefile-*.zip.tmp")
	if err != nil {
		return "", "", 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	h := sha256.New()
	cw := &format.CountWriter{W: io.MultiWriter(tmp, h)}
	if err := sf.Zip(ctx, cw); err != nil {
		tmp.Close()
		return "", "", 0, err
	}
	if err := tmp.Close(); err != nil {
		return "", "", 0, err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	final := filepath.Join(in.spool, sha+".zip")
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", "", 0, err
	}
	return final, sha, cw.N, nil
}

// removeSpool deletes a shapefile's zip once it is no longer needed.
func (in *Intake) removeSpool(sendPath, source string) {
	if sendPath != source && strings.HasPrefix(sendPath, in.spool) {
		os.Remove(sendPath)
	}
}

// sendPathOf returns the bytes to stage for a job: the source file, or the
// shapefile's zip in the spool folder (made again if it is gone).
func (in *Intake) SendPath(ctx context.Context, j state.Job) (string, error) {
	w := in.watchOf(j.Source.Watch)
	base := j.Source.Watch
	if w != nil {
		base = w.Path
	}
	abs := filepath.Join(base, filepath.FromSlash(j.Source.Path))
	if j.Target == state.TargetMTS {
		return in.mtsSendPath(ctx, j, abs)
	}
	if !strings.EqualFold(filepath.Ext(abs), ".shp") {
		return abs, nil
	}
	zipped := filepath.Join(in.spool, j.SHA256+".zip")
	if _, err := os.Stat(zipped); err == nil {
		return zipped, nil
	}
	p, _, _, err := in.zipShapefile(ctx, abs)
	return p, err
}
