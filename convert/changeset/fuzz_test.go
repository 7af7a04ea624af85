package changeset

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fuzzSeeds are pairs of versions from the table tests.
func fuzzSeeds() [][2]string {
	a, b, c := feat("1", "a"), feat("2", "b"), feat(`"x"`, "c")
	return [][2]string{
		{a + "\n" + b + "\n", a + "\n" + feat("2", "B") + "\n" + c},
		{a + "\n" + b + "\n" + c + "\n", c + "\n\n" + a + "\r\n"},
		{a + "\n", feat(`"1"`, 1) + "\n" + feat("", 2) + "\n"},
		{feat(`"\u00e9"`, 1) + "\n", feat(`"é"`, 2) + "\n" + feat("1.0", 1) + "\n"},
		{a + "\n" + b, feat("1e0", "a") + "\n" + a},
		{"", `{"id":-0.5e-3,"x":[{"id":1},"]}"]}`},
		{`{"\u0069d":"k"}`, `{"id":"k","a":"\"}"}` + "\n  \n"},
	}
}

// FuzzDiff diffs two fuzzed versions: Diff must not panic, must refuse bad
// content only with ErrInvalid, and when the oracle can read both versions
// its result must be right and its changeset must turn one into the other.
func FuzzDiff(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, old, new string) {
		dir := t.TempDir()
		oldPath, newPath := filepath.Join(dir, "old"), filepath.Join(dir, "new")
		os.WriteFile(oldPath, []byte(old), 0o644)
		os.WriteFile(newPath, []byte(new), 0o644)
		oldIdx := filepath.Join(dir, "old.idx")
		lim := limits{recs: 3, arena: 64}
		if _, err := diff(context.Background(), "", oldPath, nil, oldIdx, 1, lim); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Build: %v", err)
			}
			return
		}
		var out strings.Builder
		res, err := diff(context.Background(), oldIdx, newPath, &out, filepath.Join(dir, "new.idx"), 1, lim)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Diff: %v", err)
			}
			return
		}
		if res.Full && out.Len() > 0 || res.Bytes != int64(out.Len()) {
			t.Fatalf("%+v with %d bytes written", res, out.Len())
		}
		prev, okPrev, judgeable := fuzzVersion(old)
		cur, okCur, judgeable2 := fuzzVersion(new)
		if !judgeable || !judgeable2 {
			return // lines the oracle cannot read: Diff's structural scan took them
		}
		var msg string
		switch {
		case !okCur:
			if !res.Full || !strings.Contains(res.Reason, "need a unique id") {
				msg = "ids are not unique"
			}
		case !okPrev:
			if !res.Full {
				msg = "the old version had no index"
			}
		default:
			msg = judge(prev, cur, true, res, out.String(), 1)
		}
		if msg != "" {
			t.Fatalf("%s: got %+v (%s), changeset %q", msg, res, res.Reason, out.String())
		}
	})
}

// hugeExponent matches a number with an exponent the oracle's big.Rat
// would take too long over.
var hugeExponent = regexp.MustCompile(`[eE][+-]?[0-9]{5,}`)

// fuzzVersion reads a fuzzed file as the oracle does; judgeable is false
// when some line is not JSON the oracle reads.
func fuzzVersion(s string) (v version, ok, judgeable bool) {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		lines = nil
	}
	for _, l := range lines {
		if strings.Trim(l, " \t\r") == "" {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(l), &m) != nil || hugeExponent.Match(m["id"]) {
			return nil, false, false
		}
	}
	var kept []string
	for _, l := range lines {
		if strings.Trim(l, " \t\r") != "" {
			kept = append(kept, l)
		}
	}
	v, ok = parseVersion(kept)
	return v, ok, true
}

// FuzzIndex diffs a fixed version against a fuzzed index: a damaged index
// is never an error and never a changeset.
func FuzzIndex(f *testing.F) {
	dir := f.TempDir()
	v1 := []string{feat("1", 1), feat(`"two"`, 2), feat("3", 3), feat("-4.5", 4)}
	conv := writeLines(f, dir, "v2", []string{feat("1", 1), feat(`"two"`, 22), feat("5", 5)})
	for _, lines := range [][]string{v1, nil, {feat("", 0)}} {
		p := filepath.Join(dir, "seed.idx")
		if _, err := Build(context.Background(), writeLines(f, dir, "v1", lines), p); err != nil {
			f.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Fuzz(func(t *testing.T, idx []byte) {
		p := filepath.Join(t.TempDir(), "old.idx")
		os.WriteFile(p, idx, 0o644)
		var out strings.Builder
		res, err := Diff(context.Background(), p, conv, &out, filepath.Join(filepath.Dir(p), "new.idx"), 1)
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		if res.Full {
			if out.Len() > 0 || res.Changes() != 0 {
				t.Fatalf("Full (%s), yet %+v and %d bytes", res.Reason, res, out.Len())
			}
			return
		}
		old, err := openIndex(p)
		if err != nil {
			t.Fatalf("Diff took an index openIndex refuses: %v", err)
		}
		defer old.close()
		var r rec
		n := 0
		for {
			ok, err := old.next(&r)
			if err != nil {
				t.Fatalf("Diff took an index its reader refuses: %v", err)
			}
			if !ok {
				break
			}
			n++
		}
		if res.Removed+res.Changed+res.Unchanged != n || res.Features != 3 {
			t.Fatalf("%+v from an index of %d records", res, n)
		}
	})
}

// FuzzIDKey: two ids have one key exactly when the oracle (encoding/json,
// math/big) finds them equal, and an id has a key exactly when it is a
// JSON string or number.
func FuzzIDKey(f *testing.F) {
	for _, p := range [][2]string{{"1", "1.0"}, {"-0", "0e9"}, {`"A"`, `"\u0041"`}, {"1", `"1"`}, {"12.50e-1", "1.25"}, {`"\ud83d\ude00"`, `"😀"`}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, errA := idKey(nil, []byte(a))
		kb, errB := idKey(nil, []byte(b))
		if hugeExponent.MatchString(a) || hugeExponent.MatchString(b) {
			return
		}
		oa, oerrA := oracleID(a)
		ob, oerrB := oracleID(b)
		if (errA == nil) != (oerrA == nil) || (errB == nil) != (oerrB == nil) {
			t.Fatalf("%q: %v, oracle %v; %q: %v, oracle %v", a, errA, oerrA, b, errB, oerrB)
		}
		if errA == nil && errB == nil && (string(ka) == string(kb)) != (oa == ob) {
			t.Fatalf("%q key %q, %q key %q; oracle %q, %q", a, ka, b, kb, oa, ob)
		}
	})
}

// oracleID is oracleKey of a whole JSON text that must be one string or
// number, nothing around it.
func oracleID(s string) (string, error) {
	if !json.Valid([]byte(s)) || s != strings.TrimSpace(s) {
		return "", errors.New("not one JSON value")
	}
	return oracleKey(json.RawMessage(s))
}
