package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tilesyncd/tilesyncd/config"
)

// runCLI runs tilesyncd in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPlanExamples(t *testing.T) {
	code, out, errOut := runCLI(t, "plan", "--config", "../../examples/tilesyncd.yaml", "--json")
	if code != 0 {
		t.Fatalf("plan exit %d, stderr:\n%s", code, errOut)
	}
	uploads := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d struct{ Path, Rule, Tileset, Name, Action, Reason string }
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if d.Action == "upload" {
			uploads[d.Path] = d.Tileset
		}
	}
	want := map[string]string{
		"basemap.mbtiles":          "example.basemap",
		"elevation.tif":            "example.elevation",
		"parks/city-parks.geojson": "example.city-parks",
		"surveys/benches.kml":      "example.surveys-benches",
		"surveys/hydrants.zip":     "example.surveys-hydrants",
		"surveys/morning-walk.gpx": "example.surveys-morning-walk",
		"trees.csv":                "example.trees",
	}
	if len(uploads) != len(want) {
		t.Errorf("uploads = %v, want %v", uploads, want)
	}
	for p, ts := range want {
		if uploads[p] != ts {
			t.Errorf("%s → %q, want %q", p, uploads[p], ts)
		}
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("mapbox:\n  username: x\n  tokn: y\nwatch: [{path: .}]\nrules: [{match: '*'}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args     []string
		code     int
		inStderr string
		inStdout string
	}{
		{[]string{"version"}, 0, "", "tilesyncd "},
		{[]string{"--help"}, 0, "", "plan"},
		{[]string{"help", "plan"}, 0, "", "--json"},
		{[]string{"plan", "--help"}, 0, "", "Actions:"},
		{[]string{}, 2, "Usage:", ""},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`, ""},
		{[]string{"plan", "--bogus"}, 2, "flag provided but not defined: -bogus", ""},
		{[]string{"plan", "--config", bad}, 2, bad + `:3: unknown key "tokn"`, ""},
		{[]string{"plan", "--config", filepath.Join(dir, "missing.yaml")}, 2, "missing.yaml", ""},
		{[]string{"check-config", "--config", "../../examples/tilesyncd.yaml", "--no-token"}, 0, "", "OK"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.inStderr) || !strings.Contains(out, tt.inStdout) {
			t.Errorf("tilesyncd %s: exit %d, stdout %q, stderr %q; want exit %d, stdout containing %q, stderr containing %q",
				strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.inStdout, tt.inStderr)
		}
	}
}

func TestCheckConfigToken(t *testing.T) {
	t.Setenv("MAPBOX_ACCESS_TOKEN", "")
	code, _, errOut := runCLI(t, "check-config", "--config", "../../examples/tilesyncd.yaml")
	if code != 2 || !strings.Contains(errOut, "no token") {
		t.Errorf("check-config without a token: exit %d, stderr %q; want 2 and 'no token'", code, errOut)
	}
	t.Setenv("MAPBOX_ACCESS_TOKEN", "sk.cli-secret-token")
	code, out, errOut := runCLI(t, "check-config", "--config", "../../examples/tilesyncd.yaml")
	if code != 0 || strings.Contains(out+errOut, "sk.cli-secret-token") {
		t.Errorf("check-config with a token: exit %d, output %q %q (must not show the token)", code, out, errOut)
	}
}

// The documented example configuration must parse: it is what users copy.
func TestConfigExampleParses(t *testing.T) {
	f, err := os.Open("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := config.Parse(f, "config.example.yaml")
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	if len(cfg.Rules) == 0 || len(cfg.Watch[0].Ignore) == 0 {
		t.Errorf("config.example.yaml parsed to %d rules, ignore %v", len(cfg.Rules), cfg.Watch[0].Ignore)
	}
}
