package convert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// feature is a line of output, decoded.
type feature struct {
	Type       string          `json:"type"`
	ID         json.RawMessage `json:"id"`
	Geometry   *geometry       `json:"geometry"`
	Properties map[string]any  `json:"properties"`
}

type geometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// convertFile writes data to a file called name in a temporary folder and
// converts it, checking the output and the stats' hash and size. It
// returns the decoded features, the raw output and the stats.
func convertFile(t *testing.T, name, data string) ([]feature, string, Stats, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return convertPath(t, Input{Path: path})
}

func convertPath(t *testing.T, in Input) ([]feature, string, Stats, error) {
	t.Helper()
	var out bytes.Buffer
	stats, err := Convert(context.Background(), in, &out)
	sum := sha256.Sum256(out.Bytes())
	if stats.SHA256 != hex.EncodeToString(sum[:]) || stats.Bytes != int64(out.Len()) {
		t.Errorf("stats say %d bytes of SHA-256 %s; the output is %d bytes of %x", stats.Bytes, stats.SHA256, out.Len(), sum)
	}
	if err != nil {
		return nil, out.String(), stats, err
	}
	fs, lerr := checkLD(out.Bytes())
	if lerr != nil {
		t.Fatalf("output is not valid line-delimited GeoJSON: %v\n%s", lerr, out.String())
	}
	if int64(len(fs)) != stats.Features {
		t.Errorf("stats count %d features, the output has %d", stats.Features, len(fs))
	}
	return fs, out.String(), stats, nil
}

// checkLD checks that out is line-delimited GeoJSON as MTS takes it and
// as Convert promises it: each line one compact Feature with a geometry
// of a known type (no GeometryCollection), finite lon/lat positions in
// range, and an object of properties.
func checkLD(out []byte) ([]feature, error) {
	if len(out) == 0 {
		return nil, nil
	}
	if out[len(out)-1] != '\n' {
		return nil, errors.New("the output does not end with a newline")
	}
	var fs []feature
	for i, line := range bytes.Split(out[:len(out)-1], []byte("\n")) {
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("line %d is not UTF-8", i+1)
		}
		if !json.Valid(line) {
			return nil, fmt.Errorf("line %d is not JSON: %s", i+1, line)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, line); err != nil || !bytes.Equal(c.Bytes(), line) {
			return nil, fmt.Errorf("line %d is not compact", i+1)
		}
		if !bytes.HasPrefix(line, []byte(`{"type":"Feature",`)) {
			return nil, fmt.Errorf("line %d does not start as a normalised Feature: %.60s", i+1, line)
		}
		var f feature
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		if f.Geometry == nil || f.Properties == nil {
			return nil, fmt.Errorf("line %d lacks a geometry or properties: %s", i+1, line)
		}
		depth, ok := geometryDepth[f.Geometry.Type]
		if !ok {
			return nil, fmt.Errorf("line %d: geometry type %q", i+1, f.Geometry.Type)
		}
		if _, n, err := appendCoords(nil, f.Geometry.Coordinates, depth); err != nil || n == 0 {
			return nil, fmt.Errorf("line %d: coordinates: %v (%d positions)", i+1, err, n)
		}
		if len(f.ID) > 0 && f.ID[0] != '"' && f.ID[0] != '-' && (f.ID[0] < '0' || f.ID[0] > '9') {
			return nil, fmt.Errorf("line %d: id %s", i+1, f.ID)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// positions decodes a geometry's coordinates into nested float slices.
func positions(t *testing.T, g *geometry) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(g.Coordinates, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// sameCoords compares nested coordinate arrays within tol.
func sameCoords(a, b any, tol float64) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= tol
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameCoords(x[i], y[i], tol) {
				return false
			}
		}
		return true
	}
	return false
}

// wantError checks that err is an *Error wrapping sentinel whose message
// holds every one of parts.
func wantError(t *testing.T, err error, sentinel error, parts ...string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, sentinel) {
		t.Fatalf("error %v (%T), want an *Error wrapping %v", err, err, sentinel)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func props(f feature) string {
	b, _ := json.Marshal(f.Properties)
	return string(b)
}
