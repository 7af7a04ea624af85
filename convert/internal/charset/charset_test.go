package charset

import (
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

func TestLookup(t *testing.T) {
	for label, want := range map[string]encoding.Encoding{
		"UTF-8": nil, "utf8": nil, "65001": nil, " 1252\r\n": charmap.Windows1252, "CP1251": charmap.Windows1251,
		"ANSI 1250": charmap.Windows1250, "88591": charmap.ISO8859_1, "8859_5": charmap.ISO8859_5,
		"ISO-8859-15": charmap.ISO8859_15, "windows-1253": charmap.Windows1253, "Shift_JIS": japanese.ShiftJIS,
		"866": charmap.CodePage866, "latin1": charmap.Windows1252, "koi8-r": charmap.KOI8R,
	} {
		got, ok := Lookup(label)
		if !ok || got != want {
			t.Errorf("Lookup(%q) = %v, %v; want %v", label, got, ok, want)
		}
	}
	for _, label := range []string{"", "KLINGON", "99999", "8859_99"} {
		if _, ok := Lookup(label); ok {
			t.Errorf("Lookup(%q) found an encoding", label)
		}
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		enc   encoding.Encoding
		guess bool
		in    string
		want  string
	}{
		{nil, false, "Zürich", "Zürich"},
		{nil, false, "Z\xfcrich", "Z\ufffdrich"},
		{nil, true, "Z\xfcrich", "Zürich"},
		{charmap.Windows1251, true, "Zürich", "Zürich"},
		{charmap.Windows1251, true, "\xcc\xee\xf1\xea\xe2\xe0", "Москва"},
		{charmap.Windows1251, false, "\xcc\xee\xf1\xea\xe2\xe0", "Москва"},
		{charmap.CodePage437, false, "\x81", "ü"},
	} {
		if got := Decode(tc.enc, tc.guess, []byte(tc.in)); got != tc.want {
			t.Errorf("Decode(%v, %v, %q) = %q, want %q", tc.enc, tc.guess, tc.in, got, tc.want)
		}
	}
	if enc, ok := ForLDID(0x57); !ok || enc != charmap.Windows1252 {
		t.Errorf("ForLDID(0x57) = %v, %v", enc, ok)
	}
	if _, ok := ForLDID(0); ok {
		t.Error("ForLDID(0) found an encoding")
	}
}
