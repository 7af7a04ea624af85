package config

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mapbox's limits on names (the Uploads API reference).
const (
	MaxTilesetName = 32 // the part after "username.", in characters
	MaxDisplayName = 64
)

// TilesetIDPattern is what Mapbox's own SDK checks a tileset ID against.
var TilesetIDPattern = regexp.MustCompile(`^[a-z0-9-_]{1,32}\.[a-z0-9-_]{1,32}$`)

// TilesetName turns any text into a valid tileset name (the part after the
// dot): lower-case ASCII letters, digits, - and _. Accented Latin letters lose
// their accents; Cyrillic and Greek letters are transliterated (translit.go);
// every other character becomes -, and a run of - and _ becomes its first
// character; leading and trailing ones go.
//
// A letter, digit or pictograph outside the Latin script that becomes - is
// lost (CJK, Arabic, emoji …: see lost), and then the name gains "-" and 8 hex digits of the SHA-256 of
// the whole input (its readable part cut to 23 characters if need be), so two
// names that differ only in what was lost do not share an ID: "東京 2024" is
// "2024-c0e29f0a". Otherwise a name longer than 32 characters keeps its first
// 23 and gains "-" and 8 hex digits of the SHA-256 of the whole sanitised
// name, so two long names sharing a beginning do not collide. A name left
// empty becomes "t-" and 8 hex digits of the input's hash.
//
// The output for a given input must never change: it decides which tileset a
// file replaces. TestTilesetNameGolden and TestTilesetNameGoldenScripts pin it.
func TilesetName(s string) string {
	var b strings.Builder
	last := rune(0)
	sep := func(r rune) {
		if last != '-' && last != '_' && last != 0 {
			b.WriteRune(r)
			last = r
		}
	}
	dropped := false
	read := false // the rune before was transliterated: its combining marks go with it
	rs := []rune(strings.ToLower(s))
	for i := 0; i < len(rs); i++ {
		r := foldAccent(rs[i])
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			last, read = r, false
		case r == 'ß':
			b.WriteString("ss")
			last, read = 's', false
		case r == '_' || r == '-':
			sep(r)
			read = false
		case read && unicode.Is(unicode.Mn, r):
			// A decomposed accent (macOS spells names so): already read.
		default:
			if out, n, ok := transliterate(rs, i); ok {
				if out != "" {
					b.WriteString(out)
					last = rune(out[len(out)-1])
				}
				i += n - 1
				read = true
				continue
			}
			dropped = dropped || lost(r)
			sep('-')
			read = false
		}
	}
	name := strings.TrimRight(b.String(), "-_")
	switch {
	case name == "":
		return "t-" + shortHash(s)
	case dropped:
		if len(name) > MaxTilesetName-9 {
			name = strings.TrimRight(name[:MaxTilesetName-9], "-_")
		}
		return name + "-" + shortHash(s)
	case len(name) > MaxTilesetName:
		return strings.TrimRight(name[:MaxTilesetName-9], "-_") + "-" + shortHash(name)
	}
	return name
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// DisplayName cleans a rendered display name: control characters go, spaces
// are trimmed, and it is cut to 64 characters (never inside a character).
func DisplayName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxDisplayName {
		s = strings.TrimSpace(string([]rune(s)[:MaxDisplayName]))
	}
	return s
}

// validNamePart reports whether s may stand on either side of a tileset ID's dot.
func validNamePart(s string) bool {
	return TilesetIDPattern.MatchString(s + ".x")
}

// foldAccent maps accented Latin letters to their base letter. Deliberately a
// fixed table, not a Unicode normalisation library: the mapping must never
// change with a dependency's version.
func foldAccent(r rune) rune {
	if r < 0xC0 {
		return r
	}
	if i := strings.IndexRune(accented, r); i >= 0 {
		return rune(plain[utf8.RuneCountInString(accented[:i])])
	}
	return r
}

const (
	accented = "àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżžæœþð"
	plain    = "aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzzaotd"
)
