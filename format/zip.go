package format

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// zipEpoch is the modification time written for every zipped part, so that
// the same shapefile always zips to the same bytes (and so the same hash:
// an unchanged shapefile is recognised and not uploaded again).
var zipEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ShapefileParts returns the files of the shapefile whose .shp is shp: the
// .shp, its required parts, and the optional ones present, in a fixed order,
// as they exist on disk (any case of extension; a name that is there but is
// not a regular file counts, for its opening to refuse it). It fails naming
// the first required part that is missing.
func ShapefileParts(shp string) ([]string, error) {
	stem := strings.TrimSuffix(shp, filepath.Ext(shp))
	parts := []string{shp}
	for i, ext := range append(append([]string{}, ShapefileRequired...), ShapefileOptional...) {
		found := ""
		for _, cand := range []string{stem + ext, stem + strings.ToUpper(ext)} {
			if _, err := os.Stat(cand); err == nil {
				found = cand
				break
			}
		}
		if found == "" {
			if i < len(ShapefileRequired) {
				return nil, fmt.Errorf("shapefile %s: missing its %s: %w", shp, ext, fs.ErrNotExist)
			}
			continue
		}
		parts = append(parts, found)
	}
	return parts, nil
}

// OpenFunc opens a regular file for reading and returns it with its stat,
// taken from the descriptor (watcher.Folder.Open, watcher.OpenRegular): it is
// where the rules on links and special files are applied.
type OpenFunc func(path string) (*os.File, fs.FileInfo, error)

// OpenedShapefile is a shapefile's parts, each opened once: its sizes are
// the opened files' and its zip is made from those same descriptors, so what
// was checked is what is sent.
type OpenedShapefile struct {
	Shp   string
	Parts []OpenedPart // the .shp first, then ShapefileParts' order
}

// OpenedPart is one opened part of a shapefile.
type OpenedPart struct {
	Path string
	File *os.File
	Size int64 // from the descriptor's stat when opened
}

// OpenShapefile opens the shapefile whose .shp is shp and its parts with
// open. It fails naming the part that is missing or that open refuses; on
// success the caller closes it.
func OpenShapefile(shp string, open OpenFunc) (*OpenedShapefile, error) {
	paths, err := ShapefileParts(shp)
	if err != nil {
		return nil, err
	}
	s := &OpenedShapefile{Shp: shp}
	for _, p := range paths {
		f, fi, err := open(p)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("shapefile %s: %w", shp, err)
		}
		s.Parts = append(s.Parts, OpenedPart{Path: p, File: f, Size: fi.Size()})
	}
	return s, nil
}

// Close closes every part.
func (s *OpenedShapefile) Close() error {
	var errs []error
	for _, p := range s.Parts {
		errs = append(errs, p.File.Close())
	}
	return errors.Join(errs...)
}

// Sizes returns each part's name and size, for ShapefileSizeRefusal.
func (s *OpenedShapefile) Sizes() []PartSize {
	out := make([]PartSize, len(s.Parts))
	for i, p := range s.Parts {
		out[i] = PartSize{Name: filepath.Base(p.Path), Size: p.Size}
	}
	return out
}

// Total is the parts' size together, uncompressed.
func (s *OpenedShapefile) Total() int64 {
	var n int64
	for _, p := range s.Parts {
		n += p.Size
	}
	return n
}

// Zip writes the shapefile, with its parts, as one zip to w, the form
// Mapbox takes, reading each part from its descriptor and no further than
// the size it had when opened. The output is deterministic: the same parts
// with the same bytes give the same zip, whatever their times. It checks ctx
// between chunks and returns its error once it is done.
func (s *OpenedShapefile) Zip(ctx context.Context, w io.Writer) error {
	zw := zip.NewWriter(w)
	buf := make([]byte, 256<<10)
	for _, p := range s.Parts {
		hdr := &zip.FileHeader{Name: filepath.Base(p.Path), Method: zip.Deflate, Modified: zipEpoch}
		pw, err := zw.CreateHeader(hdr)
		if err != nil {
			return fmt.Errorf("zip shapefile %s: %s: %w", s.Shp, p.Path, err)
		}
		if _, err := p.File.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("zip shapefile %s: %w", s.Shp, err)
		}
		if _, err := io.CopyBuffer(pw, ctxReader{ctx, io.LimitReader(p.File, p.Size)}, buf); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("zip shapefile %s: read %s: %w", s.Shp, p.Path, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip shapefile %s: %w", s.Shp, err)
	}
	return nil
}

// ZipShapefile opens the shapefile whose .shp is shp with open, refuses it
// by ShapefileSizeRefusal, and writes its zip to w (OpenedShapefile.Zip).
func ZipShapefile(ctx context.Context, shp string, open OpenFunc, w io.Writer) error {
	s, err := OpenShapefile(shp, open)
	if err != nil {
		return err
	}
	defer s.Close()
	if refusal := ShapefileSizeRefusal(s.Sizes()); refusal != "" {
		return fmt.Errorf("shapefile %s: %s", shp, refusal)
	}
	return s.Zip(ctx, w)
}

// ContextReader returns r failing a Read with ctx's error once ctx is
// done: a long copy (a hash, a zip) stops within a chunk of a cancellation.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// CountWriter passes writes to W and counts the bytes written in N.
type CountWriter struct {
	W io.Writer
	N int64
}

func (c *CountWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}
