package config

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"*.geojson", "roads.geojson", true},
		{"*.geojson", "a/b/roads.geojson", true},
		{"*.geojson", "ROADS.GEOJSON", true},
		{"*.geojson", "roads.geojson.bak", false},
		{"parcels/**/*.zip", "parcels/x.zip", true},
		{"parcels/**/*.zip", "parcels/2024/q1/x.zip", true},
		{"parcels/**/*.zip", "other/parcels/x.zip", false},
		{"**/*.zip", "x.zip", true},
		{"**/*.zip", "a/b/x.zip", true},
		{"a/*/c.csv", "a/b/c.csv", true},
		{"a/*/c.csv", "a/b/d/c.csv", false},
		{"a/**", "a/b/c", true},
		{"a/**", "b/c", false},
		{"./a/*.kml", "a/x.kml", true},
		{"Thumbs.db", "x/thumbs.db", true},
		{"data/[0-9]*.csv", "data/2024.csv", true},
		{"data/[0-9]*.csv", "data/x.csv", false},
	}
	for _, tt := range tests {
		g, err := CompileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("CompileGlob(%q): %v", tt.pattern, err)
		}
		if got := g.Match(tt.path); got != tt.want {
			t.Errorf("Glob(%q).Match(%q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
	for _, bad := range []string{"", "[a-", "a/**x/b", "a//b"} {
		if _, err := CompileGlob(bad); err == nil {
			t.Errorf("CompileGlob(%q): want an error", bad)
		}
	}
}

// TestTilesetNameGolden pins the mapping from text to tileset names. Never
// change a "want" here: a changed mapping sends files to new tilesets.
func TestTilesetNameGolden(t *testing.T) {
	tests := []struct{ in, want string }{
		{"roads", "roads"},
		{"Roads 2024", "roads-2024"},
		{"roads.v2", "roads-v2"},
		{"  --Roads__North--  ", "roads_north"},
		{"a - _ b", "a-b"},
		{"Zürich Straßen", "zurich-strassen"},
		{"São Paulo — zonas", "sao-paulo-zonas"},
		{"Łódź", "lodz"},
		{"東京", "t-130016b2"},
		{"", "t-e3b0c442"},
		{"a_very_long_tileset_name_that_goes_on", "a_very_long_tileset_nam-1d77889f"},
		{"a_very_long_tileset_name_that_goes_on_and_on", "a_very_long_tileset_nam-e0ce1ce8"},
		{"exactly-thirty-two-characters-xx", "exactly-thirty-two-characters-xx"},
		{"exactly-thirty-three-characters-x", "exactly-thirty-three-ch-01cf260b"},
		{"UPPER_lower-123", "upper_lower-123"},
	}
	for _, tt := range tests {
		if got := TilesetName(tt.in); got != tt.want {
			t.Errorf("TilesetName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if utf8.RuneCountInString(accented) != len(plain) {
		t.Fatalf("accent table: %d accented letters, %d plain", utf8.RuneCountInString(accented), len(plain))
	}
}

func TestTarget(t *testing.T) {
	cfg, err := Parse(strings.NewReader(`
mapbox: {username: acme}
state: {path: /tmp/tilesyncd-test/state.db}
watch: [{path: /srv/drop}]
rules:
  - match: "scratch/**"
    skip: true
  - regex: '^(?P<region>[a-z]+)/(?P<layer>[^/]+)\.geojson$'
    tileset: "{username}.{region}-{layer}"
    name: "{layer} ({region})"
  - match: "**/*.mbtiles"
    tileset: "{username}.{parent}_{stem}"
  - match: "*.zip"
    tileset: "{username}.{path}"
    name: "{name} in {watch}"
  - regex: '^v(?P<stem>[0-9]+)_.*\.geojson$'
    tileset: "{username}.{stem}"
    name: "{stem} {ext}"
`), "")
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Watch[0]
	tests := []struct {
		rel           string
		rule          int // -1: no rule
		skip          bool
		tileset, name string
	}{
		{"scratch/x.geojson", 0, true, "", ""},
		{"north/Roads.geojson", 1, false, "acme.north-roads", "Roads (north)"},
		{"north/deep/Roads.geojson", -1, false, "", ""},
		{"maps/base.mbtiles", 2, false, "acme.maps_base", "base"},
		{"base.mbtiles", 2, false, "acme.drop_base", "base"},
		{"2024/Parcels Q1.zip", 3, false, "acme.2024-parcels-q1", "Parcels Q1.zip in drop"},
		{"notes.txt", -1, false, "", ""},
		// A named group takes the place of the file's placeholder of that name.
		{"v7_roads.geojson", 4, false, "acme.7", "7 geojson"},
	}
	for _, tt := range tests {
		got, ok := cfg.Target(w, tt.rel)
		if tt.rule < 0 {
			if ok {
				t.Errorf("Target(%q) = %s, want no rule", tt.rel, got.Rule.Label())
			}
			continue
		}
		if !ok || got.Rule.Index != tt.rule || got.Rule.Skip != tt.skip || got.Tileset != tt.tileset || got.Name != tt.name {
			t.Errorf("Target(%q) = %+v (ok %v), want rules[%d] skip=%v %q %q", tt.rel, got, ok, tt.rule, tt.skip, tt.tileset, tt.name)
		}
	}
}

func TestDisplayName(t *testing.T) {
	long := strings.Repeat("é", 70)
	if got := DisplayName(long); utf8.RuneCountInString(got) != 64 || !utf8.ValidString(got) {
		t.Errorf("DisplayName(70 × é) = %d runes, valid %v; want 64, valid", utf8.RuneCountInString(got), utf8.ValidString(got))
	}
	if got := DisplayName(" a\tb\n "); got != "ab" {
		t.Errorf("DisplayName with control characters = %q, want %q", got, "ab")
	}
}

func FuzzTilesetName(f *testing.F) {
	for _, s := range []string{"roads", "Zürich Straßen", "東京", "", "a_very_long_tileset_name_that_goes_on_and_on", "--__--", "a.b/c d",
		"дороги-2024", "Ευρώπη αυτοκίνητο", "東京 2024", "roads 🚗", "Щ\u0435\u0308лково", "Z\xfcrich"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name := TilesetName(s)
		if id := "user." + name; !TilesetIDPattern.MatchString(id) {
			t.Fatalf("TilesetName(%q) = %q: %q is not a valid tileset ID", s, name, id)
		}
		if again := TilesetName(s); again != name {
			t.Fatalf("TilesetName(%q) not deterministic: %q then %q", s, name, again)
		}
		if TilesetName(name) != name {
			t.Fatalf("TilesetName(%q) = %q, which is not a fixed point", s, name)
		}
	})
}

func FuzzTarget(f *testing.F) {
	cfg, err := Parse(strings.NewReader(`
mapbox: {username: acme}
state: {path: /tmp/tilesyncd-test/state.db}
watch: [{path: /srv/drop}]
rules:
  - regex: '^(?P<a>[^/]*)/(?P<b>.*)$'
    tileset: "{username}.{a}-{b}-{ext}"
  - match: "**"
    tileset: "{username}.{dir}{parent}{path}{stem}"
    name: "{name}"
`), "")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"a/b.geojson", "x.csv", "Ünïcode/dir/file name.kml", "a/" + strings.Repeat("z", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		got, ok := cfg.Target(cfg.Watch[0], rel)
		if !ok {
			return
		}
		if !TilesetIDPattern.MatchString(got.Tileset) {
			t.Fatalf("Target(%q).Tileset = %q: not a valid tileset ID", rel, got.Tileset)
		}
		if utf8.RuneCountInString(got.Name) > MaxDisplayName {
			t.Fatalf("Target(%q).Name has %d characters", rel, utf8.RuneCountInString(got.Name))
		}
	})
}
