package watcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Errors of Folder.Open and OpenRegular, wrapped in an *fs.PathError naming
// the file.
var (
	// ErrLinkLeaves: the path is, or passes through, a link whose target is
	// outside the watch folder, and the folder does not follow such links.
	ErrLinkLeaves = errors.New("link leaves the watch folder")
	// ErrNotRegular: the path is not a regular file (a named pipe, a
	// device, a socket, a folder).
	ErrNotRegular = errors.New("not a regular file")
)

// Folder opens the files of one watch folder the way tilesyncd reads them,
// by the same rules the watcher reports them by:
//
//   - only regular files: a path that has become a named pipe, a device or a
//     folder is refused (ErrNotRegular) without blocking, whatever a stat
//     said a moment earlier;
//   - unless followLinks, never through a link whose target is outside the
//     folder (ErrLinkLeaves); links that stay inside are followed.
//
// The check is made on what is opened, not before: the path is resolved,
// then opened beneath the folder with os.Root, which follows a link only
// while it stays inside (so a link swapped in between the resolution and
// the open cannot lead out), and the descriptor's own stat decides whether
// it is a regular file. A caller reads from the *os.File it was given, never
// by opening the path again.
//
// A Folder is safe for concurrent use. Close it when done.
type Folder struct {
	path        string   // as configured
	real        string   // path with its links resolved
	root        *os.Root // real, opened; nil when following links
	followLinks bool
}

// OpenFolder opens the watch folder at path (absolute).
func OpenFolder(path string, followLinks bool) (*Folder, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("watch folder %s: %w", path, err)
	}
	f := &Folder{path: path, real: real, followLinks: followLinks}
	if !followLinks {
		if f.root, err = os.OpenRoot(real); err != nil {
			return nil, fmt.Errorf("watch folder %s: %w", path, err)
		}
	}
	return f, nil
}

// Close releases the folder's descriptor.
func (f *Folder) Close() error {
	if f.root == nil {
		return nil
	}
	return f.root.Close()
}

// Open opens the regular file at rel (slash-separated, relative to the
// folder) for reading, and returns it with its stat, taken from the
// descriptor. It never blocks on a named pipe. Errors wrap ErrLinkLeaves,
// ErrNotRegular or the system's (fs.ErrNotExist…), in an *fs.PathError
// naming the file.
func (f *Folder) Open(rel string) (*os.File, fs.FileInfo, error) {
	full := filepath.Join(f.path, filepath.FromSlash(rel))
	if f.followLinks {
		return OpenRegular(full)
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return nil, nil, err
	}
	in, ok := within(f.real, real)
	if !ok {
		return nil, nil, &fs.PathError{Op: "open", Path: full, Err: ErrLinkLeaves}
	}
	file, err := f.root.OpenFile(in, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			// A link swapped in since the resolution: os.Root did not
			// follow it out of the folder.
			return nil, nil, &fs.PathError{Op: "open", Path: full, Err: fmt.Errorf("%w: %w", ErrLinkLeaves, err)}
		}
		if pe, ok := err.(*fs.PathError); ok {
			pe.Path = full
		}
		return nil, nil, err
	}
	return checkRegular(file, full)
}

// OpenRegular opens the regular file at path for reading, following links
// wherever they lead, and returns it with its stat, taken from the
// descriptor. It never blocks on a named pipe: the file is opened
// non-blocking, refused unless the descriptor is a regular file
// (ErrNotRegular), then set back to blocking.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	file, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	return checkRegular(file, path)
}

func checkRegular(file *os.File, name string) (*os.File, fs.FileInfo, error) {
	fi, err := file.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, typeName(fi.Mode()))}
	}
	if err == nil {
		err = setBlocking(file)
	}
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	return file, fi, nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	}
	return "mode " + m.Type().String()
}

// LinkLeaves reports whether the path abs, inside the folder root, is a
// link whose target (after every link on the way) lies outside root. Only
// abs's own name is looked at: the watcher and plan never enter a linked
// folder, and Folder.Open checks every part of the path it opens. A
// dangling or looping link does not leave (it leads nowhere).
func LinkLeaves(root, abs string) bool {
	fi, err := os.Lstat(abs)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return false
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return false
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		realRoot = root
	}
	_, ok := within(realRoot, real)
	return !ok
}

// within returns path relative to root if it is root or below it.
func within(root, path string) (string, bool) {
	rel, err := filepath.Rel(root, path)
	if err != nil || filepath.IsAbs(rel) || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
		return "", false
	}
	return rel, true
}
