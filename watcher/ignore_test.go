package watcher

import "testing"

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
