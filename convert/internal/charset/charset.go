// Package charset names the text encodings that geodata files declare: a
// shapefile's .cpg file or its .dbf's language driver byte, and an XML
// declaration's encoding. It only maps names to golang.org/x/text encodings
// and decodes; it guesses nothing beyond Decode's documented fallback.
package charset

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// codePages are the encodings named by number in .cpg files ("1252",
// "CP1251", "ANSI 1250", "88591") and by Windows code page identifiers.
var codePages = map[int]encoding.Encoding{
	437: charmap.CodePage437, 850: charmap.CodePage850, 852: charmap.CodePage852,
	855: charmap.CodePage855, 858: charmap.CodePage858, 860: charmap.CodePage860,
	862: charmap.CodePage862, 863: charmap.CodePage863, 865: charmap.CodePage865,
	866: charmap.CodePage866, 874: charmap.Windows874,
	932: japanese.ShiftJIS, 936: simplifiedchinese.GBK, 949: korean.EUCKR, 950: traditionalchinese.Big5,
	1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
	1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255,
	1256: charmap.Windows1256, 1257: charmap.Windows1257, 1258: charmap.Windows1258,
	10007: charmap.MacintoshCyrillic, 10000: charmap.Macintosh,
	20866: charmap.KOI8R, 21866: charmap.KOI8U,
	28591: charmap.ISO8859_1, 28592: charmap.ISO8859_2, 28593: charmap.ISO8859_3,
	28594: charmap.ISO8859_4, 28595: charmap.ISO8859_5, 28596: charmap.ISO8859_6,
	28597: charmap.ISO8859_7, 28598: charmap.ISO8859_8, 28599: charmap.ISO8859_9,
	28603: charmap.ISO8859_13, 28605: charmap.ISO8859_15,
	936000: simplifiedchinese.GB18030, 54936: simplifiedchinese.GB18030,
}

// iso8859 are "8859-N" numbers written as .cpg files spell them ("88591", "8859_5").
var iso8859 = map[int]encoding.Encoding{
	1: charmap.ISO8859_1, 2: charmap.ISO8859_2, 3: charmap.ISO8859_3, 4: charmap.ISO8859_4,
	5: charmap.ISO8859_5, 6: charmap.ISO8859_6, 7: charmap.ISO8859_7, 8: charmap.ISO8859_8,
	9: charmap.ISO8859_9, 10: charmap.ISO8859_10, 13: charmap.ISO8859_13, 14: charmap.ISO8859_14,
	15: charmap.ISO8859_15, 16: charmap.ISO8859_16,
}

var (
	cpNumber  = regexp.MustCompile(`^(?:ANSI|CP|OEM|WINDOWS|IBM|MS)?[ _-]?(\d{3,6})$`)
	isoNumber = regexp.MustCompile(`^(?:ISO)?[ _-]?8859[ _-]?(\d{1,2})$`)
)

// Lookup returns the encoding a label names, or ok=false when it names
// none that is known. UTF-8 (also "65001") returns a nil encoding and ok.
func Lookup(label string) (enc encoding.Encoding, ok bool) {
	l := strings.ToUpper(strings.TrimSpace(label))
	switch l {
	case "":
		return nil, false
	case "UTF-8", "UTF8", "65001":
		return nil, true
	}
	if m := isoNumber.FindStringSubmatch(l); m != nil {
		n, _ := strconv.Atoi(m[1])
		enc, ok = iso8859[n]
		return enc, ok
	}
	if m := cpNumber.FindStringSubmatch(l); m != nil {
		n, _ := strconv.Atoi(m[1])
		enc, ok = codePages[n]
		return enc, ok
	}
	if e, err := htmlindex.Get(label); err == nil && e != nil {
		return utf8OrNil(e), true
	}
	if e, err := ianaindex.IANA.Encoding(strings.TrimSpace(label)); err == nil && e != nil {
		return utf8OrNil(e), true
	}
	return nil, false
}

func utf8OrNil(e encoding.Encoding) encoding.Encoding {
	if e == unicode.UTF8 || e == encoding.Nop {
		return nil
	}
	return e
}

// ldids maps the dBASE language driver IDs seen in shapefiles (byte 29
// of a .dbf's header) to their code pages.
var ldids = map[byte]int{
	0x01: 437, 0x02: 850, 0x03: 1252, 0x08: 865, 0x09: 437, 0x0A: 850, 0x0B: 437,
	0x0D: 437, 0x0E: 850, 0x0F: 437, 0x10: 850, 0x11: 437, 0x12: 850, 0x13: 932,
	0x14: 850, 0x15: 437, 0x16: 850, 0x17: 865, 0x18: 437, 0x19: 437, 0x1A: 850,
	0x1B: 437, 0x1C: 863, 0x1D: 850, 0x1F: 852, 0x22: 852, 0x23: 852, 0x24: 860,
	0x25: 850, 0x26: 866, 0x37: 850, 0x40: 852, 0x4D: 936, 0x4E: 949, 0x4F: 950,
	0x50: 874, 0x57: 1252, 0x58: 1252, 0x59: 1252, 0x64: 852, 0x65: 866, 0x66: 865,
	0x7A: 936, 0x7B: 932, 0x7C: 874, 0x78: 950, 0x79: 949, 0x7D: 1255, 0x7E: 1256,
	0x96: 10007, 0x98: 10000, 0xC8: 1250, 0xC9: 1251, 0xCA: 1254, 0xCB: 1253, 0xCC: 1257,
}

// ForLDID returns the encoding of a dBASE language driver ID, or ok=false
// for 0 (none given) and IDs it does not know.
func ForLDID(id byte) (enc encoding.Encoding, ok bool) {
	cp, ok := ldids[id]
	if !ok {
		return nil, false
	}
	enc, ok = codePages[cp]
	return enc, ok
}

// Decode returns b as a UTF-8 string. A nil enc means UTF-8: valid UTF-8
// is returned as it is. When guess is set the encoding is only a guess
// (no .cpg): then valid UTF-8 is taken as UTF-8 whatever enc says, since
// text in a single-byte code page is almost never valid UTF-8 by chance,
// and anything else is decoded with enc, or Windows-1252 when enc is nil.
// Without guess, invalid UTF-8 in UTF-8 text becomes U+FFFD.
func Decode(enc encoding.Encoding, guess bool, b []byte) string {
	if enc == nil || guess {
		if utf8.Valid(b) {
			return string(b)
		}
		if enc == nil && guess {
			enc = charmap.Windows1252
		}
	}
	if enc == nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}
