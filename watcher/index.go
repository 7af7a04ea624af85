package watcher

import "strings"

// index holds every file the watcher knows to exist, grouped by folder. A
// folder's path is stored once and shared by its files (the file maps are
// keyed by base name), which keeps a tree of 100,000 files to about a hundred
// bytes a file.
type index struct {
	dirs  map[string]*dirRec // by slash-separated path relative to the root; "" is the root
	files int
}

type dirRec struct {
	files   map[string]fileRec
	gen     uint32 // scan generation that last saw the folder
	watched bool   // has an fsnotify watch
}

// fileRec is one file. size and mtime are those last reported ready when
// reported is set; until then the file is pending in the settler.
type fileRec struct {
	size     int64
	mtime    int64 // Unix nanoseconds
	gen      uint32
	reported bool
}

func newIndex() *index { return &index{dirs: make(map[string]*dirRec)} }

// splitRel splits a slash-separated relative path into its folder ("" for the
// root) and base name.
func splitRel(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// dir returns the folder rel, adding it if new.
func (ix *index) dir(rel string) *dirRec {
	d, ok := ix.dirs[rel]
	if !ok {
		d = &dirRec{files: make(map[string]fileRec)}
		ix.dirs[strings.Clone(rel)] = d
	}
	return d
}

func (ix *index) lookup(rel string) (fileRec, bool) {
	dir, name := splitRel(rel)
	d, ok := ix.dirs[dir]
	if !ok {
		return fileRec{}, false
	}
	r, ok := d.files[name]
	return r, ok
}

// set stores rec for the file name in d.
func (ix *index) set(d *dirRec, name string, rec fileRec) {
	if _, ok := d.files[name]; !ok {
		ix.files++
		name = strings.Clone(name)
	}
	d.files[name] = rec
}

// remove drops the file rel and returns what was known of it.
func (ix *index) remove(rel string) (fileRec, bool) {
	dir, name := splitRel(rel)
	d, ok := ix.dirs[dir]
	if !ok {
		return fileRec{}, false
	}
	r, ok := d.files[name]
	if ok {
		delete(d.files, name)
		ix.files--
	}
	return r, ok
}

// removeTree drops the folder rel and everything below it, calling fn for each
// file and gone for each folder.
func (ix *index) removeTree(rel string, file func(rel string, r fileRec), folder func(rel string, d *dirRec)) {
	prefix := rel + "/"
	for drel, d := range ix.dirs {
		if drel != rel && !strings.HasPrefix(drel, prefix) && rel != "" {
			continue
		}
		ix.dropDir(drel, d, file, folder)
	}
}

func (ix *index) dropDir(drel string, d *dirRec, file func(string, fileRec), folder func(string, *dirRec)) {
	for name, r := range d.files {
		file(joinRel(drel, name), r)
	}
	ix.files -= len(d.files)
	folder(drel, d)
	delete(ix.dirs, drel)
}

// sweep drops every folder and file not seen by scan generation gen, calling
// fn for each file dropped and folder for each folder dropped.
func (ix *index) sweep(gen uint32, file func(rel string, r fileRec), folder func(rel string, d *dirRec)) {
	for drel, d := range ix.dirs {
		if d.gen != gen {
			ix.dropDir(drel, d, file, folder)
			continue
		}
		for name, r := range d.files {
			if r.gen != gen {
				delete(d.files, name)
				ix.files--
				file(joinRel(drel, name), r)
			}
		}
	}
}

// keepTree marks the folder rel and everything known below it as seen by gen:
// used when a folder cannot be listed, so that its files are not taken as
// removed.
func (ix *index) keepTree(rel string, gen uint32) {
	prefix := rel + "/"
	for drel, d := range ix.dirs {
		if drel == rel || strings.HasPrefix(drel, prefix) || rel == "" {
			d.gen = gen
			for name, r := range d.files {
				r.gen = gen
				d.files[name] = r
			}
		}
	}
}
