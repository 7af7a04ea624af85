package watcher

import (
	"path"
	"strings"
)

// DefaultIgnorePatterns are the names never reported: dot files and folders,
// and the temporary and lock files of common tools. Each pattern is a
// path.Match pattern matched against the base name, without regard to case.
// The config package reuses this list as its built-in defaults.
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

// lowered holds DefaultIgnorePatterns in lower case, matched against lower
// case names.
var lowered = func() []string {
	l := make([]string, len(DefaultIgnorePatterns))
	for i, p := range DefaultIgnorePatterns {
		l[i] = strings.ToLower(p)
	}
	return l
}()

// DefaultIgnore reports whether rel (slash-separated, relative to the watch
// folder) is ignored by DefaultIgnorePatterns, and by which pattern. Folders
// and files are matched alike, on their base name, ignoring case.
func DefaultIgnore(rel string, isDir bool) (pattern string, ignored bool) {
	base := strings.ToLower(path.Base(rel))
	for i, p := range lowered {
		if ok, _ := path.Match(p, base); ok {
			return DefaultIgnorePatterns[i], true
		}
	}
	return "", false
}
