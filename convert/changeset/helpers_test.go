package changeset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// feat is a converted line with the id's JSON text (none when "") and a
// property value.
func feat(id string, v any) string {
	p, _ := json.Marshal(map[string]any{"v": v})
	if id == "" {
		return fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":%s}`, p)
	}
	return fmt.Sprintf(`{"type":"Feature","id":%s,"geometry":{"type":"Point","coordinates":[1,2]},"properties":%s}`, id, p)
}

// writeLines writes lines, each "\n"-terminated, to dir/name.
func writeLines(t testing.TB, dir, name string, lines []string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// outcome is one diff of two versions.
type outcome struct {
	res       Result
	changeset string
	newIndex  string
}

// diffLines builds the index of old, then diffs new against it.
func diffLines(t testing.TB, old, new []string, maxShare float64, lim limits) outcome {
	t.Helper()
	dir := t.TempDir()
	oldIdx := filepath.Join(dir, "old.idx")
	if _, err := diff(context.Background(), "", writeLines(t, dir, "old.ldjson", old), io.Discard, oldIdx, 1, lim); err != nil {
		t.Fatalf("Build: %v", err)
	}
	var out bytes.Buffer
	o := outcome{newIndex: filepath.Join(dir, "new.idx")}
	res, err := diff(context.Background(), oldIdx, writeLines(t, dir, "new.ldjson", new), &out, o.newIndex, maxShare, lim)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	o.res, o.changeset = res, out.String()
	if res.Bytes != int64(out.Len()) {
		t.Errorf("Bytes = %d, wrote %d", res.Bytes, out.Len())
	}
	if res.Full && out.Len() > 0 {
		t.Errorf("Full, yet %d bytes written", out.Len())
	}
	noLeftovers(t, dir, "old.idx", "new.idx", "old.ldjson", "new.ldjson")
	return o
}

// noLeftovers fails when dir holds files other than those named.
func noLeftovers(t testing.TB, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.Contains(strings.Join(names, "\n")+"\n", e.Name()+"\n") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// oracleKey is an id's identity computed independently of idKey: a
// string's value, a number's exact rational value.
func oracleKey(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return "s:" + v, nil
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			return "", fmt.Errorf("number %s", v)
		}
		return "n:" + r.RatString(), nil
	}
	return "", fmt.Errorf("id %s is neither a string nor a number", raw)
}

// version is a converted file as the oracle sees it: id → line.
type version map[string]string

// parseVersion reads lines as the oracle does; ok is false when they have
// no unique ids (or one is not JSON).
func parseVersion(lines []string) (v version, ok bool) {
	v = version{}
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(l), &m) != nil || m["id"] == nil || string(m["id"]) == "null" {
			return nil, false
		}
		k, err := oracleKey(m["id"])
		if err != nil {
			return nil, false
		}
		if _, dup := v[k]; dup {
			return nil, false
		}
		v[k] = l
	}
	return v, true
}

// apply applies a changeset to a copy of v, checking its form: deletions
// of present ids first, then whole features.
func apply(v version, changeset string) (version, error) {
	out := version{}
	for k, l := range v {
		out[k] = l
	}
	adds := false
	for _, l := range strings.SplitAfter(changeset, "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			return nil, fmt.Errorf("changeset line %q is not \\n-terminated", l)
		}
		l = strings.TrimSuffix(l, "\n")
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			return nil, fmt.Errorf("changeset line %q: %v", l, err)
		}
		k, err := oracleKey(m["id"])
		if err != nil {
			return nil, fmt.Errorf("changeset line %q: %v", l, err)
		}
		if _, del := m["delete"]; del {
			if adds || len(m) != 2 || string(m["delete"]) != "true" {
				return nil, fmt.Errorf("deletion %q: not of the form {\"id\":…,\"delete\":true} before every feature", l)
			}
			if _, ok := out[k]; !ok {
				return nil, fmt.Errorf("deletion %q of an id not in the old version", l)
			}
			delete(out, k)
			continue
		}
		adds = true
		out[k] = l
	}
	return out, nil
}

// sameVersion reports how a and b differ ("" when they do not).
func sameVersion(a, b version) string {
	for k, l := range a {
		if b[k] != l {
			return fmt.Sprintf("id %s: %q, want %q", k, l, b[k])
		}
	}
	for k, l := range b {
		if _, ok := a[k]; !ok {
			return fmt.Sprintf("id %s missing, want %q", k, l)
		}
	}
	return ""
}
