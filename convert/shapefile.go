package convert

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxSidecarBytes bounds a .prj or .cpg, which are read whole.
const maxSidecarBytes = 64 << 10

// shapefileInput is a shapefile's parts as streams.
type shapefileInput struct {
	name     string // the .shp (or zip:entry), for errors
	shp      io.Reader
	shpSize  int64 // -1 when unknown
	dbf      io.Reader
	prj, cpg []byte // nil when absent
}

// convertZippedShapefile converts the one shapefile in a zip. The archive
// is read in place (its directory, then each entry as a stream): nothing
// is extracted and no temporary file is made. Entries under __MACOSX/ and
// AppleDouble "._" files are ignored; more than one .shp is refused.
func convertZippedShapefile(ctx context.Context, file string, o *output) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrAlgorithm) || errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrInsecurePath) {
			return newError(file, at{offset: -1}, invalidf("not a readable zip: %v", err))
		}
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer zr.Close()
	entries := map[string]*zip.File{}
	var shps []string
	for _, f := range zr.File {
		base := path.Base(f.Name)
		if f.FileInfo().IsDir() || strings.HasPrefix(f.Name, "__MACOSX/") || strings.HasPrefix(base, "._") {
			continue
		}
		entries[strings.ToLower(f.Name)] = f
		if strings.EqualFold(path.Ext(f.Name), ".shp") {
			shps = append(shps, f.Name)
		}
	}
	refuse := func(err error) error { return newError(file, at{offset: -1}, err) }
	switch {
	case len(shps) == 0:
		return refuse(invalidf("the zip holds no shapefile (.shp)"))
	case len(shps) > 1:
		return refuse(unsupportedf("the zip holds %d shapefiles (%s): convert one a file", len(shps), strings.Join(shps, ", ")))
	}
	stem := strings.ToLower(strings.TrimSuffix(shps[0], path.Ext(shps[0])))
	shp, dbf := entries[stem+".shp"], entries[stem+".dbf"]
	if dbf == nil {
		return refuse(invalidf("the zip has no .dbf beside %s", shps[0]))
	}
	in := shapefileInput{name: file + ":" + shps[0], shpSize: int64(min(shp.UncompressedSize64, 1<<62))}
	for _, side := range []struct {
		ext string
		dst *[]byte
	}{{".prj", &in.prj}, {".cpg", &in.cpg}} {
		if f := entries[stem+side.ext]; f != nil {
			if *side.dst, err = readSmall(f.Open, f.Name); err != nil {
				return refuse(err)
			}
		}
	}
	shpR, err := shp.Open()
	if err != nil {
		return refuse(invalidf("%s: %v", shp.Name, err))
	}
	defer shpR.Close()
	dbfR, err := dbf.Open()
	if err != nil {
		return refuse(invalidf("%s: %v", dbf.Name, err))
	}
	defer dbfR.Close()
	in.shp, in.dbf = shpR, dbfR
	return convertShapefile(ctx, in, o)
}

// convertShapefileSet converts a .shp with its parts on disk.
func convertShapefileSet(ctx context.Context, in Input, o *output) error {
	parts := shapefileParts(in)
	dbfPath, ok := parts[".dbf"]
	if !ok {
		return newError(in.Path, at{offset: -1}, invalidf("no .dbf beside it (a shapefile needs its .shp and .dbf)"))
	}
	sin := shapefileInput{name: in.Path, shpSize: -1}
	for ext, dst := range map[string]*[]byte{".prj": &sin.prj, ".cpg": &sin.cpg} {
		if p, ok := parts[ext]; ok {
			var err error
			if *dst, err = readSmall(func() (io.ReadCloser, error) { return os.Open(p) }, p); err != nil {
				return newError(in.Path, at{offset: -1}, err)
			}
		}
	}
	shp, err := os.Open(in.Path)
	if err != nil {
		return err
	}
	defer shp.Close()
	if fi, err := shp.Stat(); err == nil {
		sin.shpSize = fi.Size()
	}
	dbf, err := os.Open(dbfPath)
	if err != nil {
		return err
	}
	defer dbf.Close()
	sin.shp, sin.dbf = shp, dbf
	return convertShapefile(ctx, sin, o)
}

// shapefileParts maps the extensions of a shapefile's other parts to
// their paths: Input.Parts, or the files beside Input.Path with the same
// stem and the extension in lower or upper case.
func shapefileParts(in Input) map[string]string {
	parts := map[string]string{}
	if len(in.Parts) > 0 {
		for _, p := range in.Parts {
			parts[strings.ToLower(filepath.Ext(p))] = p
		}
		return parts
	}
	stem := strings.TrimSuffix(in.Path, filepath.Ext(in.Path))
	for _, ext := range []string{".dbf", ".prj", ".cpg"} {
		for _, cand := range []string{stem + ext, stem + strings.ToUpper(ext)} {
			if fi, err := os.Stat(cand); err == nil && fi.Mode().IsRegular() {
				parts[ext] = cand
				break
			}
		}
	}
	return parts
}

// readSmall reads a sidecar file whole, refusing one over maxSidecarBytes.
func readSmall(open func() (io.ReadCloser, error), name string) ([]byte, error) {
	r, err := open()
	if err != nil {
		return nil, invalidf("%s: %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxSidecarBytes+1))
	switch {
	case err != nil:
		return nil, invalidf("%s: %v", name, err)
	case len(b) > maxSidecarBytes:
		return nil, invalidf("%s is over %d KiB, too large for a .prj or .cpg", name, maxSidecarBytes>>10)
	}
	return b, nil
}
