package config

import (
	"fmt"
	"path"
	"strings"
)

// Glob matches slash-separated relative paths. A pattern without a slash
// matches a file's (or folder's) base name at any depth: "*.geojson" matches
// "a/b/roads.geojson". A pattern with a slash matches the whole path, segment by
// segment, where "**" stands for any number of folders, none included:
// "parcels/**/*.zip" matches "parcels/x.zip" and "parcels/2024/q1/x.zip".
// Within a segment, the syntax is path.Match's (*, ?, [a-z], \ escapes).
// Matching ignores case, as the filesystems of Windows and macOS do and as
// people naming files expect (ROADS.GEOJSON is a GeoJSON).
type Glob struct {
	pattern  string
	segments []string // lower-cased; nil for a base-name pattern
	base     string   // lower-cased base-name pattern
}

// CompileGlob checks and compiles a pattern.
func CompileGlob(pattern string) (*Glob, error) {
	p := strings.TrimPrefix(strings.TrimPrefix(pattern, "./"), "/")
	if strings.TrimSpace(p) == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	g := &Glob{pattern: pattern}
	lower := strings.ToLower(p)
	if !strings.Contains(lower, "/") {
		g.base = lower
		if _, err := path.Match(lower, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pattern, err)
		}
		return g, nil
	}
	g.segments = strings.Split(strings.TrimSuffix(lower, "/"), "/")
	for _, seg := range g.segments {
		if seg == "" {
			return nil, fmt.Errorf("pattern %q: empty folder name (//)", pattern)
		}
		if strings.Contains(seg, "**") && seg != "**" {
			return nil, fmt.Errorf("pattern %q: ** must be a whole folder name, as in a/**/b", pattern)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pattern, err)
		}
	}
	return g, nil
}

// String returns the pattern as written.
func (g *Glob) String() string { return g.pattern }

// Match reports whether rel, a slash-separated path relative to a watch
// folder, matches.
func (g *Glob) Match(rel string) bool {
	rel = strings.ToLower(rel)
	if g.segments == nil {
		ok, _ := path.Match(g.base, path.Base(rel))
		return ok
	}
	return matchSegments(g.segments, strings.Split(rel, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegments(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// Ignored reports whether rel matches one of the watch folder's own ignore
// globs, and which. The built-in defaults (temporary and lock files) are
// applied by the watcher and the planner on top of these.
func (w *Watch) Ignored(rel string) (string, bool) {
	for _, g := range w.ignores {
		if g.Match(rel) {
			return g.String(), true
		}
	}
	return "", false
}
