// Package plan decides what tilesyncd does with each file of the watched
// folders: upload it to a tileset, skip it, or refuse it, with the reason.
// It never touches the network: `tilesyncd plan` prints its decisions, and the
// syncer refuses by the same rules before spending an API request.
//
// The order of the questions is fixed: is the file ignored (a temporary or lock
// file, or one of the watch folder's ignore globs, or a link whose target is
// outside the watch folder, unless it says follow_links)? is it a shapefile part that
// travels with its .shp? which rule matches, and does it say skip? can Mapbox
// take it (type, size, a complete shapefile)? Files that pass are uploaded. A
// tileset that two files map to is a conflict: the daemon would upload both and
// the newer would win, which is rarely what was meant.
package plan

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tilesyncd/tilesyncd/config"
	"github.com/tilesyncd/tilesyncd/format"
	"github.com/tilesyncd/tilesyncd/watcher"
)

// Action is what tilesyncd does with a file.
type Action string

const (
	Upload   Action = "upload"   // send it to its tileset
	Skip     Action = "skip"     // a rule says so, it is part of a shapefile, or it is unchanged
	Ignored  Action = "ignored"  // a temporary, lock or ignored file: never looked at
	Refused  Action = "refused"  // Mapbox could not take it: type, size, incomplete shapefile
	NoRule   Action = "no-rule"  // no rule matches: not uploaded
	Conflict Action = "conflict" // another file maps to the same tileset
)

// Decision is the plan for one file. Its JSON field names are stable: scripts read them.
type Decision struct {
	Watch   string `json:"watch"` // the watch folder
	Path    string `json:"path"`  // slash-separated, relative to Watch
	Rule    string `json:"rule,omitempty"`
	Tileset string `json:"tileset,omitempty"`
	Name    string `json:"name,omitempty"`
	Action  Action `json:"action"`
	Reason  string `json:"reason,omitempty"`
	Format  string `json:"format,omitempty"`
	Size    int64  `json:"size"`
	// Target is "mts" for a file an MTS rule sends ("" for the Uploads
	// API), with the tileset source it replaces and the recipe file; MTS
	// is that rule's rendered target, and Conversion what `tilesyncd plan`
	// found converting the file (mts.go).
	Target     string            `json:"target,omitempty"`
	SourceID   string            `json:"source_id,omitempty"`
	Recipe     string            `json:"recipe,omitempty"`
	Conversion *Conversion       `json:"conversion,omitempty"`
	MTS        *config.MTSTarget `json:"-"`
	// Info is the file's stat from the walk (Walk sets it for files, following
	// a link to a file), so that a caller need not stat it again.
	Info fs.FileInfo `json:"-"`
}

// Siblings tells whether a file exists in the same folder, by name, ignoring case.
type Siblings func(name string) bool

// LinkLeaves is the reason given for a link whose target is outside its
// watch folder, which is not followed unless the folder says follow_links.
const LinkLeaves = "link leaves the watch folder"

// Decide plans one file that is not ignored by name. abs is its path on
// disk (looked at to tell a link that leaves the watch folder, and for a
// .zip's directory and a shapefile's parts), size its size, siblings the
// names beside it.
func Decide(cfg *config.Config, w *config.Watch, rel, abs string, size int64, siblings Siblings) Decision {
	if !w.FollowLinks && watcher.LinkLeaves(w.Path, abs) && !isDir(abs) {
		return Decision{Watch: w.Path, Path: rel, Size: size, Action: Ignored, Reason: LinkLeaves}
	}
	// A link to a folder was reported as a file and is one no longer: the
	// caller cannot read it (watcher.Folder refuses it) and tries again.
	return decide(cfg, w, rel, abs, size, siblings)
}

// DecideReported is Decide for a file the watcher reported: its stat
// already refused a link that leaves the watch folder (and reading goes
// through watcher.Folder, which refuses one swapped in since), so the file
// is not looked at again: a restart decides 100,000 reports without a
// system call each.
func DecideReported(cfg *config.Config, w *config.Watch, rel, abs string, size int64, siblings Siblings) Decision {
	return decide(cfg, w, rel, abs, size, siblings)
}

func isDir(abs string) bool {
	fi, err := os.Stat(abs)
	return err == nil && fi.IsDir()
}

// decide is Decide for a file known not to be a link that leaves.
func decide(cfg *config.Config, w *config.Watch, rel, abs string, size int64, siblings Siblings) Decision {
	d := Decision{Watch: w.Path, Path: rel, Size: size}
	base := path.Base(rel)
	if shp, ok := format.ShapefileSidecar(base); ok {
		if siblings(shp) {
			d.Action, d.Reason = Skip, "part of shapefile "+shp
		} else {
			d.Action, d.Reason = Refused, "incomplete shapefile (missing .shp)"
		}
		return d
	}
	target, ok := cfg.Target(w, rel)
	if !ok {
		d.Action, d.Reason = NoRule, "no rule matches"
		return d
	}
	d.Rule = target.Rule.Label()
	if target.Rule.Skip {
		d.Action, d.Reason = Skip, "the rule says skip"
		return d
	}
	d.Tileset, d.Name = target.Tileset, target.Name
	f, refusal := format.Check(base, size)
	d.Format = f.Name
	if target.MTS != nil {
		refusal = d.mts(target.MTS, f, size, refusal)
		if refusal == "" && w.Shared && strings.Contains(target.Tileset, config.LayerSep) {
			refusal = "the rule makes several files feed MTS tileset " + config.MTSTileset(target.Tileset) +
				" (one layer each), which a shared folder does not support: two nodes could publish the tileset at once; " +
				"watch these files in a folder not marked shared"
		}
	}
	if refusal == "" {
		// A shapefile sent to MTS is converted: the Uploads API's size
		// rule does not bind it, only the converted source's limit.
		refusal = checkShapefile(w, abs, base, size, siblings, target.MTS == nil)
	}
	if refusal != "" {
		d.Action, d.Reason = Refused, refusal
		return d
	}
	d.Action = Upload
	return d
}

// checkShapefile returns the reason to refuse a shapefile (a .zip or the
// .shp of a set): incomplete, a part leaving the watch folder, or, when
// sized, over the Uploads API's size rule.
func checkShapefile(w *config.Watch, abs, base string, size int64, siblings Siblings, sized bool) string {
	switch strings.ToLower(path.Ext(base)) {
	case ".zip":
		sizes, refusal, err := format.ZippedShapefileParts(abs)
		if err != nil {
			return "not a readable zip: " + err.Error()
		}
		if refusal == "" && sized {
			refusal = format.ShapefileSizeRefusal(sizes)
		}
		return refusal
	case ".shp":
		if missing := format.MissingShapefileParts(base, siblings); len(missing) > 0 {
			return fmt.Sprintf("incomplete shapefile (missing %s)", strings.Join(missing, ", "))
		}
		parts, err := format.ShapefileParts(abs)
		if err != nil {
			return "incomplete shapefile: " + err.Error()
		}
		sizes := []format.PartSize{{Name: base, Size: size}}
		for _, p := range parts[1:] {
			if !w.FollowLinks && watcher.LinkLeaves(w.Path, p) {
				return fmt.Sprintf("its part %s: %s", filepath.Base(p), LinkLeaves)
			}
			if fi, err := os.Stat(p); err == nil {
				sizes = append(sizes, format.PartSize{Name: filepath.Base(p), Size: fi.Size()})
			}
		}
		if !sized {
			return ""
		}
		return format.ShapefileSizeRefusal(sizes)
	}
	return ""
}

// Walk plans every file of every watch folder, in path order per folder, and
// marks tileset conflicts. Unreadable folders are reported as refused entries
// and the walk goes on; symbolic links to folders are not followed (a link
// loop cannot hang it).
func Walk(cfg *config.Config) ([]Decision, error) {
	var all []Decision
	err := Scan(cfg, func(d Decision) error {
		all = append(all, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	markConflicts(all)
	return all, nil
}

// Scan is Walk one decision at a time: it calls fn with each decision as it
// is made, holding none of them, and stops at fn's first error. It does not
// mark conflicts, which needs every decision: each file is decided alone, as
// the daemon decides a file it is told of.
func Scan(cfg *config.Config, fn func(Decision) error) error {
	for _, w := range cfg.Watch {
		if err := scanOne(cfg, w, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanOne(cfg *config.Config, w *config.Watch, fn func(Decision) error) error {
	var walk func(dir, relDir string) error
	walk = func(dir, relDir string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if relDir == "" {
				return fmt.Errorf("read watch folder %s: %w", dir, err)
			}
			return fn(Decision{Watch: w.Path, Path: relDir + "/", Action: Refused, Reason: "unreadable folder: " + err.Error()})
		}
		var names map[string]bool // made on first use: most folders hold no shapefile
		siblings := func(name string) bool {
			if names == nil {
				names = make(map[string]bool, len(entries))
				for _, e := range entries {
					names[strings.ToLower(e.Name())] = true
				}
			}
			return names[strings.ToLower(name)]
		}
		for _, e := range entries { // os.ReadDir sorts by name
			rel := path.Join(relDir, e.Name())
			abs := filepath.Join(dir, e.Name())
			d, folder := decideEntry(cfg, w, e, rel, abs, siblings)
			if folder {
				if w.Recursive {
					if err := walk(abs, rel); err != nil {
						return err
					}
				}
				continue
			}
			if err := fn(d); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(w.Path, "")
}

// decideEntry plans one entry of a folder, or reports a folder to walk into
// (one that is neither ignored nor reached through a symbolic link).
func decideEntry(cfg *config.Config, w *config.Watch, e fs.DirEntry, rel, abs string, siblings Siblings) (d Decision, folder bool) {
	info, err := entryInfo(e, abs)
	if err != nil {
		return Decision{Watch: w.Path, Path: rel, Action: Refused, Reason: "unreadable: " + err.Error()}, false
	}
	link := e.Type()&fs.ModeSymlink != 0
	isDir := info.IsDir() && !link
	if pat, ok := w.Ignores(rel, isDir); ok {
		if isDir {
			rel += "/"
		}
		return Decision{Watch: w.Path, Path: rel, Action: Ignored, Reason: pat}, false
	}
	switch {
	case isDir:
		return Decision{}, true
	case link && !w.FollowLinks && watcher.LinkLeaves(w.Path, abs):
		return Decision{Watch: w.Path, Path: rel, Size: info.Size(), Action: Ignored, Reason: LinkLeaves}, false
	case info.IsDir(): // a link to a folder
		return Decision{Watch: w.Path, Path: rel, Action: Ignored, Reason: "symbolic link to a folder (not followed)"}, false
	case !info.Mode().IsRegular():
		// Devices, pipes, sockets; on Windows, junctions and other reparse
		// points that are not symbolic links (never followed).
		return Decision{Watch: w.Path, Path: rel, Action: Ignored, Reason: "not a regular file"}, false
	}
	d = decide(cfg, w, rel, abs, info.Size(), siblings)
	d.Info = info
	return d, false
}

// entryInfo stats a directory entry, following a symbolic link to its target.
func entryInfo(e fs.DirEntry, abs string) (fs.FileInfo, error) {
	if e.Type()&fs.ModeSymlink != 0 {
		return os.Stat(abs)
	}
	return e.Info()
}

// Conflicts groups by tileset the uploads of a walk: two files or more that
// the rules send to one tileset are a conflict (the tileset holds whichever
// was uploaded last). Walk marks them; sync --once logs them. The zero value
// is ready to use.
type Conflicts struct {
	groups map[string][]Decision
	order  []string // tilesets in the order first met
}

// Add notes d if it is an upload.
func (c *Conflicts) Add(d Decision) {
	if d.Action != Upload {
		return
	}
	if c.groups == nil {
		c.groups = map[string][]Decision{}
	}
	d.Info = nil // a walk over many files keeps no stat
	if _, ok := c.groups[d.Tileset]; !ok {
		c.order = append(c.order, d.Tileset)
	}
	c.groups[d.Tileset] = append(c.groups[d.Tileset], d)
}

// Each calls fn with each tileset that two or more files map to, and those
// files in the order they were added.
func (c *Conflicts) Each(fn func(tileset string, files []Decision)) {
	for _, ts := range c.order {
		if g := c.groups[ts]; len(g) > 1 {
			fn(ts, g)
		}
	}
}

// Reason says why d, one of files, is a conflict, naming the others.
func Reason(d Decision, files []Decision) string {
	var others []string
	for _, o := range files {
		if o.Watch != d.Watch || o.Path != d.Path {
			others = append(others, otherPath(d, o))
		}
	}
	sort.Strings(others)
	return fmt.Sprintf("%s is also the tileset of %s; the newest file would win", d.Tileset, strings.Join(others, ", "))
}

// markConflicts turns uploads that share a tileset into conflicts naming each other.
func markConflicts(ds []Decision) {
	var c Conflicts
	at := map[[2]string]int{}
	for i, d := range ds {
		if d.Action == Upload {
			c.Add(d)
			at[[2]string{d.Watch, d.Path}] = i
		}
	}
	c.Each(func(_ string, files []Decision) {
		for _, f := range files {
			i := at[[2]string{f.Watch, f.Path}]
			ds[i].Action = Conflict
			ds[i].Reason = Reason(f, files)
		}
	})
}

// otherPath names other's file as seen from d: relative within the same watch folder.
func otherPath(d, other Decision) string {
	if d.Watch == other.Watch {
		return other.Path
	}
	return filepath.Join(other.Watch, filepath.FromSlash(other.Path))
}
