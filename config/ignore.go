package config

import (
	"path"
	"strings"
)

// DefaultIgnorePatterns are the names never reported: dot files and folders,
// and the temporary and lock files of common tools. Each pattern is a
// path.Match pattern matched against the base name, without regard to case.
// Every watch folder applies them before its own globs (Watch.Ignores).
var DefaultIgnorePatterns = []string{
	".*",           // dot files and folders: .git, .DS_Store, .~lock.x#, rsync's .name.XXXXXX
	"~$*",          // Microsoft Office owner files
	"~*.tmp",       // Microsoft Office temporary files
	"*.tmp",        // generic temporary files
	"*.temp",       // generic temporary files
	"*.part",       // Firefox, curl, wget partial downloads
	"*.partial",    // partial downloads
	"*.crdownload", // Chrome partial downloads
	"*.download",   // Safari partial downloads
	"*.swp",        // vim swap files
	"*.swx",        // vim swap files
	"*~",           // editor backups
	"#*#",          // emacs auto-save files
	"Thumbs.db",    // Windows thumbnails
	"ehthumbs.db",  // Windows media centre thumbnails
	"desktop.ini",  // Windows folder settings
	".DS_Store",    // macOS folder settings (also matched by ".*")
	".~lock.*#",    // LibreOffice lock files (also matched by ".*")
}

// matchers hold DefaultIgnorePatterns in lower case, each with the cheapest
// test that decides it: most are a suffix ("*.tmp"), a prefix ("~$*") or a
// name, and only the rest need path.Match. A restart walks every file past
// these, so they are kept cheap.
var matchers = func() []nameMatcher {
	m := make([]nameMatcher, len(DefaultIgnorePatterns))
	for i, p := range DefaultIgnorePatterns {
		m[i] = newNameMatcher(strings.ToLower(p))
	}
	return m
}()

type nameMatcher struct {
	pattern        string
	prefix, suffix string // the literal parts around a single *
	literal, star  bool   // no wildcard at all; exactly one * and nothing else special
}

func newNameMatcher(p string) nameMatcher {
	m := nameMatcher{pattern: p}
	special := strings.ContainsAny(p, "?[\\")
	switch n := strings.Count(p, "*"); {
	case special:
	case n == 0:
		m.literal = true
	case n == 1:
		m.star = true
		m.prefix, m.suffix, _ = strings.Cut(p, "*")
	}
	return m
}

func (m nameMatcher) match(name string) bool {
	switch {
	case m.literal:
		return name == m.pattern
	case m.star:
		return len(name) >= len(m.prefix)+len(m.suffix) && strings.HasPrefix(name, m.prefix) && strings.HasSuffix(name, m.suffix)
	}
	ok, _ := path.Match(m.pattern, name)
	return ok
}

// DefaultIgnore reports whether rel (slash-separated, relative to the watch
// folder) is ignored by DefaultIgnorePatterns, and by which pattern. Folders
// and files are matched alike, on their base name, ignoring case.
func DefaultIgnore(rel string, isDir bool) (pattern string, ignored bool) {
	base := strings.ToLower(path.Base(rel))
	for i, m := range matchers {
		if m.match(base) {
			return DefaultIgnorePatterns[i], true
		}
	}
	return "", false
}

// Ignores reports whether rel (slash-separated, relative to the folder;
// isDir for a folder) is ignored in w, and by which pattern: the built-in
// temporary and lock-file patterns (DefaultIgnore), then the folder's own
// globs. The watcher, plan and intake all ask it.
func (w *Watch) Ignores(rel string, isDir bool) (string, bool) {
	if pat, ok := DefaultIgnore(rel, isDir); ok {
		return pat, true
	}
	return w.Ignored(rel)
}
