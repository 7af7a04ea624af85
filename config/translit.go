package config

import "unicode"

// Transliteration of the scripts TilesetName can read besides Latin:
// Cyrillic by ICAO Doc 9303 (the romanisation of machine-readable passports,
// ASCII only; it covers Russian, Ukrainian, Belarusian, Bulgarian, Serbian and
// Macedonian), and Greek by ELOT 743 (the Greek standard, adopted by the UN and
// ISO 843 for transcription), both without diacritics. Like the accent table,
// these are fixed tables and not a library: the mapping decides which tileset
// a file replaces and must never change with a dependency's version.
//
// Both are lossy, as accent folding is: ICAO spells й and и alike (i), and
// leaves ь out; ELOT spells η, ι and υ-in-a-name alike (i). Names that differ
// only so share an ID, as "Résumé" and "resume" do. Letters neither table has
// (Kazakh қ, polytonic Greek ἀ …) are dropped, which adds a hash (see
// TilesetName), so they never collide.

// cyrillic is ICAO Doc 9303's table, lower case (ѐ and ѝ, which it does not
// list, lose their accent).
var cyrillic = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh",
	'з': "z", 'и': "i", 'й': "i", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "ie", 'ы': "y", 'ь': "", 'э': "e", 'ю': "iu",
	'я': "ia",
	'ґ': "g", 'ѓ': "g", 'ђ': "d", 'є': "ie", 'ѕ': "dz", 'і': "i", 'ї': "i", 'ј': "j",
	'љ': "lj", 'њ': "nj", 'ћ': "c", 'ќ': "k", 'ў': "u", 'џ': "dz",
	'ѐ': "e", 'ѝ': "i",
}

// greek is ELOT 743's value of each letter alone, lower case, accents and
// diaereses dropped. transliterate applies its rules for letter pairs.
var greek = map[rune]string{
	'α': "a", 'β': "v", 'γ': "g", 'δ': "d", 'ε': "e", 'ζ': "z", 'η': "i", 'θ': "th",
	'ι': "i", 'κ': "k", 'λ': "l", 'μ': "m", 'ν': "n", 'ξ': "x", 'ο': "o", 'π': "p",
	'ρ': "r", 'σ': "s", 'ς': "s", 'τ': "t", 'υ': "y", 'φ': "f", 'χ': "ch", 'ψ': "ps",
	'ω': "o",
	'ά': "a", 'έ': "e", 'ή': "i", 'ί': "i", 'ό': "o", 'ύ': "y", 'ώ': "o",
	'ϊ': "i", 'ΐ': "i", 'ϋ': "y", 'ΰ': "y",
}

const combiningDiaeresis = '\u0308'

// transliterate reads the lower-case letter at rs[i] (and the one after it,
// for a Greek pair) and returns its ASCII spelling and how many runes it took;
// ok is false for a rune neither table has. The spelling may be "" (ь).
//
// ELOT 743's pair rules, applied here: αυ, ευ, ηυ read av, ev, iv before a
// vowel or a voiced consonant (β γ δ ζ λ μ ν ρ) and af, ef, if elsewhere; ου
// reads ou; γ before γ, ξ or χ reads n. A pair is a pair only when its first
// vowel has no accent and its υ no diaeresis (άυ, αϋ are two sounds), as in
// Greek spelling. μπ is always mp (ELOT reads b at a word's start: a
// simplification).
func transliterate(rs []rune, i int) (out string, n int, ok bool) {
	r := rs[i]
	if out, ok := cyrillic[r]; ok {
		return out, 1, true
	}
	out, ok = greek[r]
	if !ok {
		return "", 0, false
	}
	next := func(j int) rune {
		if j < len(rs) {
			return rs[j]
		}
		return 0
	}
	upsilonPair := (next(i+1) == 'υ' || next(i+1) == 'ύ') && next(i+2) != combiningDiaeresis
	switch {
	case upsilonPair && (r == 'α' || r == 'ε' || r == 'η'):
		j := i + 2
		for j < len(rs) && unicode.Is(unicode.Mn, rs[j]) {
			j++ // the accent of a decomposed ύ
		}
		if voiced(next(j)) {
			return out + "v", 2, true
		}
		return out + "f", 2, true
	case upsilonPair && r == 'ο':
		return "ou", 2, true
	case r == 'γ' && (next(i+1) == 'γ' || next(i+1) == 'ξ' || next(i+1) == 'χ'):
		return "n", 1, true
	}
	return out, 1, true
}

// voiced reports whether r is a Greek vowel or voiced consonant, before which
// αυ, ευ and ηυ read av, ev and iv.
func voiced(r rune) bool {
	switch r {
	case 'α', 'ε', 'η', 'ι', 'ο', 'υ', 'ω', 'ά', 'έ', 'ή', 'ί', 'ό', 'ύ', 'ώ', 'ϊ', 'ΐ', 'ϋ', 'ΰ',
		'β', 'γ', 'δ', 'ζ', 'λ', 'μ', 'ν', 'ρ':
		return true
	}
	return false
}

// lost reports whether TilesetName loses meaning by making r a separator: a
// letter, digit or pictograph (emoji, ™, №; the replacement character a byte
// that is not UTF-8 decodes to) that no table reads. Punctuation, spaces,
// mathematical, currency and modifier symbols and marks only separate, as
// they always have, and so does everything of the Latin script and below
// U+0250 (Latin-1 and Latin Extended): the IDs of Latin names never change.
// Modifier letters (ʼ, the Ukrainian apostrophe) separate too.
func lost(r rune) bool {
	if r < 0x250 || unicode.Is(unicode.Latin, r) || unicode.Is(unicode.Lm, r) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.So, r)
}
