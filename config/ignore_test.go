package config

import (
	"path"
	"strings"
	"testing"
)

func TestDefaultIgnore(t *testing.T) {
	tests := []struct {
		rel   string
		isDir bool
		want  string // pattern; "" = not ignored
	}{
		{"roads.geojson", false, ""},
		{"a/b/parcels.mbtiles", false, ""},
		{"shapes.zip", false, ""},
		{".hidden", false, ".*"},
		{".git", true, ".*"},
		{"a/.DS_Store", false, ".*"},
		{"x.tmp", false, "*.tmp"},
		{"~x.tmp", false, "~*.tmp"},
		{"X.TMP", false, "*.tmp"},
		{"big.zip.part", false, "*.part"},
		{"big.zip.crdownload", false, "*.crdownload"},
		{"a/~$report.docx", false, "~$*"},
		{"Thumbs.db", false, "Thumbs.db"},
		{"thumbs.db", false, "Thumbs.db"},
		{"sub/desktop.ini", false, "desktop.ini"},
		{"notes.swp", false, "*.swp"},
		{"data.geojson~", false, "*~"},
		{"#draft#", false, "#*#"},
		{"upload.partial", false, "*.partial"},
		{"tmp", true, ""},
		{"partial.geojson", false, ""},
	}
	for _, tt := range tests {
		got, ignored := DefaultIgnore(tt.rel, tt.isDir)
		if ignored != (tt.want != "") || got != tt.want {
			t.Errorf("DefaultIgnore(%q, %v) = %q, %v, want %q, %v", tt.rel, tt.isDir, got, ignored, tt.want, tt.want != "")
		}
	}
}

// The fast matchers agree with path.Match on every default pattern.
func TestNameMatchersAgreeWithPathMatch(t *testing.T) {
	names := []string{"a.tmp", ".tmp", "tmp", "~$doc.docx", "~$", "~x.tmp", "x.part", "file.partial", "a.crdownload",
		"thumbs.db", "thumbs.db.bak", "desktop.ini", ".ds_store", ".~lock.x.odt#", "#auto#", "notes~", "x.swp", "roads.geojson", "", "*"}
	for _, p := range DefaultIgnorePatterns {
		m := newNameMatcher(strings.ToLower(p))
		for _, n := range names {
			want, _ := path.Match(strings.ToLower(p), n)
			if got := m.match(n); got != want {
				t.Errorf("pattern %q, name %q: fast match %v, path.Match %v", p, n, got, want)
			}
		}
	}
}
