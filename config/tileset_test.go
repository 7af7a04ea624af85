package config

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTilesetNameGoldenScripts pins the IDs of names outside the Latin
// alphabet, as TestTilesetNameGolden pins the Latin ones. Cyrillic follows
// ICAO Doc 9303 and Greek ELOT 743; a name with any letter, digit or
// pictograph that neither covers (CJK, Hangul, Arabic, emoji …) keeps what
// can be read and gains "-" and 8 hex digits of the SHA-256 of the whole
// input, so names differing only in what was dropped never share an ID.
// Never change a "want" here: a changed mapping sends files to new tilesets.
func TestTilesetNameGoldenScripts(t *testing.T) {
	tests := []struct{ in, want string }{
		// Cyrillic (ICAO 9303: ь is left out, ъ is ie, й and и are both i).
		{"дороги-2024", "dorogi-2024"},
		{"реки-2024", "reki-2024"},
		{"Москва", "moskva"},
		{"Санкт-Петербург", "sankt-peterburg"},
		{"Щёлково", "shchelkovo"},
		{"Щ\u0435\u0308лково", "shchelkovo"}, // ё decomposed (NFD), as macOS spells file names
		{"Объект Тверь", "obieekt-tver"},
		{"Київ, Україна", "kiiv-ukraina"},
		{"Љубљана Београд", "ljubljana-beograd"},
		{"Ђаковица", "dakovitsa"},
		{"Zürich дороги", "zurich-dorogi"},
		{"Автомобильные дороги Московской области", "avtomobilnye-dorogi-mos-9c2ae045"}, // long: the usual cut
		// Greek (ELOT 743: αυ/ευ are av/ev or af/ef, ου is ou, γγ is ng).
		{"Αθήνα", "athina"},
		{"Θεσσαλονίκη", "thessaloniki"},
		{"Ψαρά 2024", "psara-2024"},
		{"Ευρώπη", "evropi"},
		{"Αυτοκίνητο", "aftokinito"},
		{"Ουρανός", "ouranos"},
		{"Άγγελος", "angelos"},
		{"Χανιά", "chania"},
		{"Ξάνθη", "xanthi"},
		{"ΟΔΟΊ", "odoi"},
		{"Ευβοϊκός", "evvoikos"},
		// Dropped: kept what reads, plus the hash of the whole input.
		{"東京", "t-130016b2"}, // as in TestTilesetNameGolden: nothing readable
		{"東京 2024", "2024-c0e29f0a"},
		{"大阪 2024", "2024-d7aac428"},
		{"서울", "t-ca6c4193"},
		{"القاهرة 2024", "2024-fce59410"},
		{"٢٠٢٤", "t-fd71aee4"},
		{"Zürich 東京", "zurich-e3241dd4"},
		{"東京 a very long tileset name that goes on", "a-very-long-tileset-nam-4b00ee62"},
		// Emoji and other pictographs are dropped too.
		{"roads 🚗", "roads-0d35511b"},
		{"roads 🚲", "roads-29b231b2"},
		{"🗺️", "t-d6c5a3e6"},
		{"Roads № 5", "roads-5-adb3c12b"},
		// Bytes that are not UTF-8 (a legacy code page: CP866 Cyrillic,
		// Latin-1) are dropped like any unreadable letter.
		{"\xa4\xae\xe0\xae\xa3\xa8-2024", "2024-821ec67a"},
		{"Z\xfcrich", "z-rich-b3c484e2"},
		// Latin letters outside the accent table keep their old ID (a - each).
		{"București", "bucure-ti"},
	}
	for _, tt := range tests {
		if got := TilesetName(tt.in); got != tt.want {
			t.Errorf("TilesetName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A piece of a generated name: its text, and how it must read in the ID
// (written by hand here, not computed by the code under test); dropped pieces
// have no reading.
type namePiece struct {
	text, reads string
	dropped     bool
}

var namePieces = []namePiece{
	{"roads", "roads", false}, {"north", "north", false}, {"2024", "2024", false}, {"v2", "v2", false},
	{"dorogi", "dorogi", false}, {"a", "a", false}, {"b7", "b7", false},
	{"Zürich", "zurich", false}, {"Łódź", "lodz", false}, {"São", "sao", false}, {"straße", "strasse", false},
	{"Bucureşti", "bucuresti", false},
	{"дороги", "dorogi", false}, {"реки", "reki", false}, {"Москва", "moskva", false}, {"щука", "shchuka", false},
	{"объект", "obieekt", false}, {"Київ", "kiiv", false}, {"мост", "most", false}, {"вода", "voda", false},
	{"жёлтый", "zheltyi", false}, {"Љубљана", "ljubljana", false},
	{"Αθήνα", "athina", false}, {"οδοί", "odoi", false}, {"Ευρώπη", "evropi", false}, {"αυτοκίνητο", "aftokinito", false},
	{"Άγγελος", "angelos", false}, {"ψάρι", "psari", false}, {"χάρτης", "chartis", false}, {"ουρανός", "ouranos", false},
	{"東京", "", true}, {"大阪", "", true}, {"地図", "", true}, {"서울", "", true}, {"길", "", true},
	{"القاهرة", "", true}, {"עברית", "", true}, {"हिन्दी", "", true}, {"ไทย", "", true},
	{"🚗", "", true}, {"🚲", "", true}, {"🗺️", "", true}, {"٢٠٢٤", "", true}, {"１２", "", true},
}

var nameSeparators = []string{" ", "-", "_", ".", " - ", ", ", " — ", "/", "__", "-_", ""}

// genName builds a name of 1 to 5 pieces and returns it with the key that
// decides its ID, and how it reads: two names may share an ID only if their
// keys are equal. A name without dropped pieces is keyed by how it reads
// (case, accents, script and the spelling of separators do not count); one
// with a dropped piece by its exact text. A run of separators (a dropped
// piece is one) reads as _ if it starts with _, else as -, and reads as
// nothing at either end.
func genName(r *rand.Rand) (name, key, reads string) {
	var text, read strings.Builder
	dropped := false
	run := byte(0) // the pending separator run's reading, 0 for none
	sep := func(s string) {
		if s != "" && run == 0 {
			run = '-'
			if s[0] == '_' {
				run = '_'
			}
		}
	}
	if r.IntN(8) == 0 {
		text.WriteString(" _")
		sep(" _")
	}
	for i, n := 0, 1+r.IntN(5); i < n; i++ {
		if i > 0 {
			s := nameSeparators[r.IntN(len(nameSeparators))]
			text.WriteString(s)
			sep(s)
		}
		p := namePieces[r.IntN(len(namePieces))]
		if r.IntN(3) == 0 {
			text.WriteString(strings.ToUpper(p.text))
		} else {
			text.WriteString(p.text)
		}
		if p.dropped {
			dropped = true
			sep("-")
			continue
		}
		if run != 0 && read.Len() > 0 {
			read.WriteByte(run)
		}
		run = 0
		read.WriteString(p.reads)
	}
	if r.IntN(8) == 0 {
		text.WriteString(". ")
	}
	if dropped {
		return text.String(), "text:" + text.String(), read.String()
	}
	return text.String(), "reads:" + read.String(), read.String()
}

// TestTilesetNameDistinct is a property: across a generated set of names in
// many scripts, two names share an ID only when they read the same (a name
// with dropped letters reads as itself). It also checks that a name without
// dropped letters gives exactly its hand-written reading, and that one with
// dropped letters ends in the hash of its whole text. TILESYNCD_SEED replays a seed.
func TestTilesetNameDistinct(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TILESYNCD_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TILESYNCD_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with TILESYNCD_SEED=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0))
	type seen struct{ name, key string }
	byID := map[string]seen{}
	for range 20000 {
		name, key, reads := genName(r)
		id := TilesetName(name)
		if !TilesetIDPattern.MatchString("u." + id) {
			t.Fatalf("TilesetName(%q) = %q: not a valid tileset name", name, id)
		}
		dropped := strings.HasPrefix(key, "text:")
		sum := sha256.Sum256([]byte(name))
		hash := hex.EncodeToString(sum[:4])
		switch {
		case dropped && reads == "" && id != "t-"+hash:
			t.Fatalf("TilesetName(%q) = %q, want t-%s (nothing readable, so the hash of the whole name)", name, id, hash)
		case dropped && reads != "" && !strings.HasSuffix(id, "-"+hash):
			t.Fatalf("TilesetName(%q) = %q, want it to end in -%s (letters were dropped)", name, id, hash)
		case !dropped && len(reads) <= MaxTilesetName && id != reads:
			t.Fatalf("TilesetName(%q) = %q, want %q", name, id, reads)
		}
		if prev, ok := byID[id]; ok && prev.key != key {
			t.Fatalf("TilesetName(%q) = TilesetName(%q) = %q: two different names share an ID", prev.name, name, id)
		}
		byID[id] = seen{name, key}
	}
}
