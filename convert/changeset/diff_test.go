package changeset

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/convert"
)

// many is n features with ids 0 to n-1, the first change of them changed.
func many(n int, change int) []string {
	var ls []string
	for i := range n {
		v := "same"
		if i < change {
			v = "new"
		}
		ls = append(ls, feat(fmt.Sprint(i), v))
	}
	return ls
}

type diffTest struct {
	name     string
	old, new []string
	maxShare float64 // 0: 1 (only the share cases test it)
	want     Result  // Bytes and Reason not compared
	reason   string  // a part of Reason
	out      string  // the changeset
}

var fa, fb, fc = feat("1", "a"), feat("2", "b"), feat(`"x"`, "c")

var diffTests = []diffTest{
	{name: "unchanged", old: []string{fa, fb, fc}, new: []string{fa, fb, fc},
		want: Result{Features: 3, Unchanged: 3}},
	{name: "reordered is unchanged", old: []string{fa, fb, fc}, new: []string{fc, fa, fb},
		want: Result{Features: 3, Unchanged: 3}},
	{name: "added", old: []string{fa, fb}, new: []string{fa, fc, fb},
		want: Result{Features: 3, Added: 1, Unchanged: 2}, out: fc + "\n"},
	{name: "changed", old: []string{fa, fb, fc}, new: []string{fa, feat("2", "B"), fc},
		want: Result{Features: 3, Changed: 1, Unchanged: 2}, out: feat("2", "B") + "\n"},
	{name: "removed", old: []string{fa, fb, fc}, new: []string{fa, fc},
		want: Result{Features: 2, Removed: 1, Unchanged: 2}, out: `{"id":2,"delete":true}` + "\n"},
	{name: "deletions first, then the file's order", old: []string{fa, fb, fc}, new: []string{feat(`"z"`, 1), feat("1", "A"), feat("0", 0)},
		want: Result{Features: 3, Added: 2, Changed: 1, Removed: 2},
		out:  `{"id":"x","delete":true}` + "\n" + `{"id":2,"delete":true}` + "\n" + feat(`"z"`, 1) + "\n" + feat("1", "A") + "\n" + feat("0", 0) + "\n"},
	{name: "a number and a string are two ids", old: []string{fa}, new: []string{feat(`"1"`, "a")},
		want: Result{Features: 1, Added: 1, Removed: 1}, out: `{"id":1,"delete":true}` + "\n" + feat(`"1"`, "a") + "\n"},
	{name: "1 and \"1\" in one file are not duplicates", old: []string{fa}, new: []string{fa, feat(`"1"`, "a")},
		want: Result{Features: 2, Added: 1, Unchanged: 1}, out: feat(`"1"`, "a") + "\n"},
	{name: "an escaped string is the same id", old: []string{feat(`"A"`, 1), feat(`"\u00e9"`, 2)}, new: []string{feat(`"A"`, 1), feat(`"\u00e9"`, 3)},
		want: Result{Features: 2, Changed: 1, Unchanged: 1}, out: feat(`"\u00e9"`, 3) + "\n"},
	{name: "blank lines", old: []string{fa, "", fb}, new: []string{"  ", fa, "\t", fb, fc},
		want: Result{Features: 3, Added: 1, Unchanged: 2}, out: fc + "\n"},
	{name: "both empty", want: Result{}},
	{name: "all removed", old: []string{fa, fb}, maxShare: 1,
		want: Result{Removed: 2}, out: `{"id":1,"delete":true}` + "\n" + `{"id":2,"delete":true}` + "\n"},
	{name: "no id", old: []string{fa}, new: []string{fa, feat("", 1), feat("", 2), fb},
		want: Result{Features: 4, Full: true}, reason: "2 of 4 features have no id (the first on line 2)"},
	{name: "null id", old: []string{fa}, new: []string{fa, strings.Replace(fb, `"id":2`, `"id":null`, 1)},
		want: Result{Features: 2, Full: true}, reason: "1 of 2 features have no id"},
	{name: "duplicate id", old: []string{fa}, new: []string{fa, fb, fc, feat("2", "again"), feat("2.0", "twice")},
		want: Result{Features: 5, Full: true}, reason: "id 2 is on lines 2, 4 and 5"},
	{name: "duplicate by value", old: []string{fa}, new: []string{feat(`"A"`, 1), feat(`"\u0041"`, 1)},
		want: Result{Features: 2, Full: true}, reason: `id "A" is on lines 1 and 2`},
	{name: "id spelt anew", old: []string{fa, fb}, new: []string{feat("1.0", "a"), fb},
		want: Result{Features: 2, Full: true}, reason: "id 1.0 was published as 1"},
	{name: "share over the limit", old: many(10, 0), new: many(10, 2), maxShare: DefaultMaxShare,
		want: Result{Features: 10, Changed: 2, Unchanged: 8, Full: true}, reason: "20.0 % of the features changed (0 added, 2 changed, 0 removed), over the 15.0 % a changeset may carry"},
	{name: "share at the limit", old: many(20, 0), new: many(20, 3), maxShare: DefaultMaxShare,
		want: Result{Features: 20, Changed: 3, Unchanged: 17}, out: strings.Join(many(20, 3)[:3], "\n") + "\n"},
	{name: "share against the larger version", old: many(10, 0), new: many(5, 0), maxShare: 0.5,
		want: Result{Features: 5, Removed: 5, Unchanged: 5}, out: "{\"id\":5,\"delete\":true}\n{\"id\":7,\"delete\":true}\n{\"id\":6,\"delete\":true}\n{\"id\":9,\"delete\":true}\n{\"id\":8,\"delete\":true}\n"}, // the index's order: by id hash
	{name: "share of a first feature", old: nil, new: []string{fa}, maxShare: 1,
		want: Result{Features: 1, Added: 1}, out: fa + "\n"},
}

// TestDiff runs the table with the default sort limits and with tiny ones
// (chunks of two records: every case spills and merges runs).
func TestDiff(t *testing.T) {
	for _, tc := range diffTests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.maxShare == 0 {
				tc.maxShare = 1
			}
			for _, lim := range []limits{defaultLimits, {recs: 2, arena: 8}} {
				o := diffLines(t, tc.old, tc.new, tc.maxShare, lim)
				got := o.res
				got.Bytes, got.Reason = 0, ""
				if got != tc.want {
					t.Errorf("limits %v: got %+v, want %+v (%s)", lim, got, tc.want, o.res.Reason)
				}
				if !strings.Contains(o.res.Reason, tc.reason) || (tc.reason == "") != (o.res.Reason == "") {
					t.Errorf("limits %v: Reason %q, want %q", lim, o.res.Reason, tc.reason)
				}
				if o.changeset != tc.out {
					t.Errorf("limits %v: changeset\n%s\nwant\n%s", lim, o.changeset, tc.out)
				}
			}
		})
	}
}

// TestNoFinalNewline: the last line of a file may lack its "\n"; the
// changeset has it.
func TestNoFinalNewline(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.idx")
	if _, err := Build(context.Background(), writeLines(t, dir, "v1", []string{feat("1", 1)}), old); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "v2")
	os.WriteFile(p, []byte(feat("1", 1)+"\n"+feat("2", 2)), 0o644)
	var out strings.Builder
	res, err := Diff(context.Background(), old, p, &out, filepath.Join(dir, "new.idx"), 1)
	if err != nil || res.Added != 1 || out.String() != feat("2", 2)+"\n" {
		t.Fatalf("got %+v, %v, %q", res, err, out.String())
	}
}

// TestNewIndexIsBuilds checks that the index Diff writes is the one Build
// writes: the next diff starts from it.
func TestNewIndexIsBuilds(t *testing.T) {
	dir := t.TempDir()
	lines := []string{feat("3", 1), feat(`"b"`, 2), feat("1", 3)}
	o := diffLines(t, lines[:1], lines, 1, defaultLimits)
	built := filepath.Join(dir, "built.idx")
	res, err := Build(context.Background(), writeLines(t, dir, "f", lines), built)
	if err != nil || !res.Full || res.Features != 3 || !strings.Contains(res.Reason, "first publish") {
		t.Fatalf("Build: %+v, %v", res, err)
	}
	a, _ := os.ReadFile(o.newIndex)
	b, _ := os.ReadFile(built)
	if string(a) != string(b) || len(a) == 0 {
		t.Errorf("Diff's index (%d bytes) differs from Build's (%d)", len(a), len(b))
	}
}

// TestUnindexed: a version without ids gets an index saying so, and the
// next diff falls back.
func TestUnindexed(t *testing.T) {
	dir := t.TempDir()
	idx := filepath.Join(dir, "idx")
	res, err := Build(context.Background(), writeLines(t, dir, "v1", []string{feat("", 1)}), idx)
	if err != nil || !res.Full || !strings.Contains(res.Reason, "no id") {
		t.Fatalf("Build: %+v, %v", res, err)
	}
	res, err = Diff(context.Background(), idx, writeLines(t, dir, "v2", []string{feat("1", 1)}), nil, filepath.Join(dir, "idx2"), 0)
	if err != nil || !res.Full || !strings.Contains(res.Reason, "had no unique ids") {
		t.Fatalf("Diff: %+v, %v", res, err)
	}
}

func TestBadConverted(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`not json`, "not a JSON object"},
		{`{"id":1,"id":2}`, `two "id" members`},
		{`{"id":{"a":1}}`, "id must be a string or a number"},
		{`{"id":true}`, "id must be a string or a number"},
		{`{"id":01}`, "id 01 is not a valid JSON number"},
		{`{"id":"a\x01"}`, "is not a valid JSON string"},
		{`{"type":"Feature","id":1,"geometry":{"type":"Point"`, "byte 37: unterminated {"},
		{`{"type":"Feature","id":1,}`, "expected a member name"},
		{`{"type":"Feature" "id":1}`, `expected "," or "}"`},
		{`{"a":1} x`, "data after the object"},
	} {
		dir := t.TempDir()
		p := writeLines(t, dir, "conv.ldjson", []string{feat("0", 0), tc.line})
		_, err := Build(context.Background(), p, filepath.Join(dir, "idx"))
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), p+": line 2: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s: %s", tc.line, err, p, tc.want)
		}
		noLeftovers(t, dir, "conv.ldjson")
	}
	if _, err := Diff(context.Background(), "", "/nonexistent", nil, filepath.Join(t.TempDir(), "i"), 0.5); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Diff(context.Background(), "", "x", nil, "y", -1); err == nil || !strings.Contains(err.Error(), "maxShare -1") {
		t.Errorf("maxShare -1: %v", err)
	}
}

func TestIDKey(t *testing.T) {
	same := [][]string{
		{"1", "1.0", "1e0", "10e-1", "0.1e1", "1.000E+0"},
		{"0", "-0", "0.0", "0e5"},
		{"-12.5", "-125e-1", "-1.250e1"},
		{"1e400", "10e399"},
		{`"A"`, `"\u0041"`},
		{`"é"`, `"\u00e9"`, `"\u00E9"`},
		{`"a\/b"`, `"a/b"`},
	}
	var keys []string
	for _, group := range same {
		k0, err := idKey(nil, []byte(group[0]))
		if err != nil {
			t.Fatalf("%s: %v", group[0], err)
		}
		for _, id := range group[1:] {
			if k, err := idKey(nil, []byte(id)); err != nil || string(k) != string(k0) {
				t.Errorf("%s: key %q (%v), want %s's %q", id, k, err, group[0], k0)
			}
		}
		keys = append(keys, string(k0))
	}
	for _, id := range []string{`"1"`, "2", "1.5", "-1", "100", `""`} {
		k, _ := idKey(nil, []byte(id))
		for _, o := range keys {
			if string(k) == o {
				t.Errorf("%s has key %q, as another id", id, k)
			}
		}
	}
	for _, bad := range []string{"", "-", "1.", ".5", "1e", "+1", "00", `"`, `"a`, "nan", "[1]"} {
		if k, err := idKey(nil, []byte(bad)); err == nil {
			t.Errorf("%q: key %q, want an error", bad, k)
		}
	}
}

// TestConvertOutput diffs two versions of a GeoJSON file as package
// convert writes them.
func TestConvertOutput(t *testing.T) {
	dir := t.TempDir()
	conv := func(name, features string) (string, []string) {
		src := filepath.Join(dir, name+".geojson")
		os.WriteFile(src, []byte(`{"type":"FeatureCollection","features":[`+features+`]}`), 0o644)
		var out strings.Builder
		if _, err := convert.Convert(context.Background(), convert.Input{Path: src}, &out); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".ldgeojson")
		os.WriteFile(p, []byte(out.String()), 0o644)
		return p, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	}
	pt := func(id string, x int) string {
		return fmt.Sprintf(`{"type":"Feature","id":%s,"properties":{"n":%d},"geometry":{"type":"Point","coordinates":[%d, 1]}}`, id, x, x)
	}
	v1, lines1 := conv("v1", strings.Join([]string{pt("1", 1), pt(`"a"`, 2), pt("3", 3), pt(` 4 `, 4)}, ","))
	v2, lines2 := conv("v2", strings.Join([]string{pt("4", 4), pt(`"a"`, 20), pt("5", 5), pt("1", 1)}, ","))
	idx := filepath.Join(dir, "v1.idx")
	if _, err := Build(context.Background(), v1, idx); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res, err := Diff(context.Background(), idx, v2, &out, filepath.Join(dir, "v2.idx"), 1)
	if err != nil || res != (Result{Features: 4, Added: 1, Changed: 1, Removed: 1, Unchanged: 2, Bytes: int64(out.Len())}) {
		t.Fatalf("got %+v, %v", res, err)
	}
	old, _ := parseVersion(lines1)
	want, _ := parseVersion(lines2)
	got, err := apply(old, out.String())
	if err != nil {
		t.Fatal(err)
	}
	if msg := sameVersion(got, want); msg != "" {
		t.Errorf("the changeset applied: %s", msg)
	}
}
