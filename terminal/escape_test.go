package terminal

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"roads.geojson", "roads.geojson"},
		{"дороги.geojson", "дороги.geojson"},
		{"道路 2024.geojson", "道路 2024.geojson"},
		{"café – ünïcode ✓.csv", "café – ünïcode ✓.csv"},
		{`C:\drop\roads.geojson`, `C:\drop\roads.geojson`},
		{"a\x1b[2Jb.geojson", `a\x1b[2Jb.geojson`},
		{"x\ny.geojson", `x\ny.geojson`},
		{"t\x1b]0;pwned\x07.docx", `t\x1b]0;pwned\a.docx`},
		{"tab\there\r", `tab\there\r`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b2J", `c1\u009b2J`},                           // the one-byte CSI
		{"evil\u202egpj.exe", `evil\u202egpj.exe`},             // right-to-left override
		{"nb\u00a0sp", `nb\u00a0sp`},                           // a space that is not U+0020
		{"bad\xffutf8\xc3", `bad\xffutf8\xc3`},                 // not UTF-8
		{"real \ufffd replacement", "real \ufffd replacement"}, // U+FFFD itself prints
		{"", ""},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type fileKey struct{ watch, path string }

func (k fileKey) String() string { return k.watch + "/" + k.path }

func TestFprintf(t *testing.T) {
	var b bytes.Buffer
	key := fileKey{"/drop", "a\x1b[2Jb.geojson"}
	Fprintf(&b, "%-4s|%s|%v|%d|%s\n", "x\ny", key, errors.New("bad \x07 name"), 42, "ok")
	if want := `x\ny|/drop/a\x1b[2Jb.geojson|bad \a name|42|ok` + "\n"; b.String() != want {
		t.Errorf("Fprintf wrote %q, want %q", b.String(), want)
	}
}

// FuzzEscape: whatever the input, the output holds nothing but printable
// runes, and printable input is left alone.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"a\x1b[2Jb", "x\ny", "дороги", "\xff\xfe", "\u202e", "\u009b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Escape(s)
		for _, r := range got {
			if !unicode.IsPrint(r) {
				t.Fatalf("Escape(%q) = %q holds %q", s, got, r)
			}
		}
		if firstUnsafe(s) < 0 && got != s {
			t.Fatalf("Escape(%q) = %q changed a printable string", s, got)
		}
		if !strings.Contains(s, "\\") && strings.Count(got, "\\") == 0 && got != s {
			t.Fatalf("Escape(%q) = %q changed the text without escaping", s, got)
		}
	})
}
