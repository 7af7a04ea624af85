package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeConfig writes text as config.yaml in a new folder holding a "drop"
// watch folder, and returns the config's path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "drop"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimal = `mapbox:
  username: example
state:
  path: state/state.db
watch:
  - path: drop
rules:
  - match: "*.geojson"
`

func TestLoadDefaults(t *testing.T) {
	path := writeConfig(t, minimal)
	cfg, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	w := cfg.Watch[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"api_url", cfg.Mapbox.APIURL, DefaultAPIURL},
		{"requests_per_minute", cfg.Mapbox.RequestsPerMinute, 30},
		{"token_env", cfg.Mapbox.TokenEnv, "MAPBOX_ACCESS_TOKEN"},
		{"s3_endpoint", cfg.Mapbox.S3Endpoint, ""},
		{"state.path", cfg.State.Path, filepath.Join(dir, "state", "state.db")},
		{"watch path", w.Path, filepath.Join(dir, "drop")},
		{"mode", w.Mode, ModeAuto},
		{"settle", w.Settle, 5 * time.Second},
		{"poll_interval", w.PollInterval, 10 * time.Second},
		{"rescan_interval", w.RescanInterval, time.Hour},
		{"recursive", w.Recursive, true},
		{"rule tileset", cfg.Rules[0].Tileset, "{username}.{stem}"},
		{"rule name", cfg.Rules[0].Name, "{stem}"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error, after "config.yaml:"
	}{
		{"unknown key", "mapbox:\n  username: example\n  usrname: x\n" + minimal[len("mapbox:\n  username: example\n"):],
			`config.yaml:3: unknown key "usrname"`},
		{"missing username", strings.Replace(minimal, "  username: example\n", "  api_url: https://api.mapbox.com\n", 1),
			"config.yaml:1: mapbox.username: missing"},
		{"bad duration", strings.Replace(minimal, "  - path: drop\n", "  - path: drop\n    settle: 5 seconds\n", 1),
			`config.yaml:7: watch[0].settle: "5 seconds" is not a duration`},
		{"bad mode", strings.Replace(minimal, "  - path: drop\n", "  - path: drop\n    mode: inotify\n", 1),
			`config.yaml:7: watch[0].mode: "inotify" is not a mode`},
		{"missing folder", strings.Replace(minimal, "path: drop", "path: nowhere", 1),
			"config.yaml:6: watch[0].path: "},
		{"bad glob", strings.Replace(minimal, `"*.geojson"`, `"[a-"`, 1),
			"config.yaml:8: rules[0].match: pattern \"[a-\": syntax error in pattern"},
		{"bad regex", strings.Replace(minimal, `match: "*.geojson"`, `regex: "(?P<x"`, 1),
			"config.yaml:8: rules[0].regex: error parsing regexp"},
		{"unknown placeholder", minimal + "    tileset: \"{username}.{stme}\"\n",
			"config.yaml:9: rules[0].tileset: unknown placeholder {stme}"},
		{"tileset without username", minimal + "    tileset: \"roads\"\n",
			"config.yaml:9: rules[0].tileset: \"roads\" must start with {username}."},
		{"both match and regex", minimal + "    regex: \"x\"\n",
			"config.yaml:8: rules[0]: has both match and regex"},
		{"state inside watch", strings.Replace(minimal, "path: state/state.db", "path: drop/state.db", 1),
			"config.yaml:4: state.path: "},
		{"nested watch", strings.Replace(minimal, "  - path: drop\n", "  - path: drop\n  - path: drop/sub\n", 1),
			"overlaps watch[0]"},
		{"bad rate", strings.Replace(minimal, "  username: example\n", "  username: example\n  requests_per_minute: 0\n", 1),
			"config.yaml:3: mapbox.requests_per_minute: 0 is out of range"},
		{"bad yaml", "mapbox: [\n", "config.yaml:"},
		{"token in api_url", strings.Replace(minimal, "  username: example\n", "  username: example\n  api_url: https://api.mapbox.com/?access_token=pk.x\n", 1),
			"config.yaml:3: mapbox.api_url: must not carry a query"},
		{"api_url in clear", strings.Replace(minimal, "  username: example\n", "  username: example\n  api_url: http://api.example.com:8080\n", 1),
			`config.yaml:3: mapbox.api_url: "http://api.example.com:8080" sends the token in clear; use https, or set mapbox.allow_insecure: true`},
		{"s3_endpoint in clear", strings.Replace(minimal, "  username: example\n", "  username: example\n  s3_endpoint: http://10.0.0.5:9000\n", 1),
			`config.yaml:3: mapbox.s3_endpoint: "http://10.0.0.5:9000" sends the staging credentials in clear; use https, or set mapbox.allow_insecure: true`},
		{"api_url on all interfaces", strings.Replace(minimal, "  username: example\n", "  username: example\n  api_url: http://0.0.0.0:8080\n", 1),
			`config.yaml:3: mapbox.api_url: "http://0.0.0.0:8080" sends the token in clear`},
		{"api_url on a name that only starts with localhost", strings.Replace(minimal, "  username: example\n", "  username: example\n  api_url: http://localhost.example.com\n", 1),
			`config.yaml:3: mapbox.api_url: "http://localhost.example.com" sends the token in clear`},
		{"control on all interfaces", minimal + "control:\n  listen: 0.0.0.0:7655\n",
			`config.yaml:10: control.listen: "0.0.0.0:7655" is not a loopback address`},
		{"control on a public address", minimal + "control:\n  listen: 192.0.2.7:7655\n",
			`config.yaml:10: control.listen: "192.0.2.7:7655" is not a loopback address`},
		{"control without host", minimal + "control:\n  listen: \":7655\"\n",
			`config.yaml:10: control.listen: ":7655" is not a loopback address`},
		{"control not an address", minimal + "control:\n  listen: localhost\n",
			`config.yaml:10: control.listen: "localhost" is not host:port, unix:/path or off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			if tt.name == "nested watch" {
				if err := os.Mkdir(filepath.Join(filepath.Dir(path), "drop", "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(path, LoadOptions{})
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			got := strings.TrimPrefix(err.Error(), filepath.Dir(path)+string(filepath.Separator))
			if !strings.Contains(got, tt.want) {
				t.Errorf("error:\n  %s\nwant it to contain\n  %s", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != path {
				t.Errorf("error %v: want a *config.Error naming %s", err, path)
			}
		})
	}
}

func TestToken(t *testing.T) {
	path := writeConfig(t, minimal)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "MAPBOX_ACCESS_TOKEN" {
				return v
			}
			return ""
		}
	}
	if _, err := Load(path, LoadOptions{RequireToken: true, Getenv: env("")}); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("no token anywhere: err = %v, want 'no token'", err)
	}
	cfg, err := Load(path, LoadOptions{RequireToken: true, Getenv: env("sk.secret-token")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mapbox.Token.Reveal() != "sk.secret-token" {
		t.Errorf("token from the environment not read")
	}
	for _, s := range []string{cfg.Mapbox.Token.String(), fmtAll(cfg.Mapbox)} {
		if strings.Contains(s, "sk.secret-token") {
			t.Errorf("the token shows in %q", s)
		}
	}

	// A token file others can read works, with a warning naming the line.
	tokenFile := filepath.Join(filepath.Dir(path), "token")
	if err := os.WriteFile(tokenFile, []byte("sk.from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(minimal, "  username: example\n", "  username: example\n  token_file: token\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(path, LoadOptions{RequireToken: true, Getenv: env("")})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mapbox.Token.Reveal() != "sk.from-file" {
		t.Errorf("token from file = %q", cfg.Mapbox.Token.Reveal())
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "config.yaml:3: mapbox.token_file:") || !strings.Contains(cfg.Warnings[0], "chmod 600") {
		t.Errorf("warnings = %q, want one about the token file's mode at line 3", cfg.Warnings)
	}
	if err := os.Chmod(tokenFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err = Load(path, LoadOptions{RequireToken: true}); err != nil || len(cfg.Warnings) != 0 {
		t.Errorf("token file 0600: err = %v, warnings = %q, want none", err, cfg.Warnings)
	}
}

func fmtAll(v any) string {
	return strings.Join([]string{fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v)}, " ")
}

func TestControl(t *testing.T) {
	tests := []struct {
		yaml        string
		listen      string // "" for off; "DIR/" is replaced by the config's folder
		allowRemote bool
	}{
		{"", DefaultControlListen, false},
		{"control:\n  listen: off\n", "", false},
		{"control:\n  listen: \"[::1]:9000\"\n", "[::1]:9000", false},
		{"control:\n  listen: localhost:9000\n", "localhost:9000", false},
		{"control:\n  listen: unix:run/control.sock\n", "unix:DIR/run/control.sock", false},
		{"control:\n  listen: 0.0.0.0:7655\n  allow_remote: true\n", "0.0.0.0:7655", true},
	}
	for _, tt := range tests {
		path := writeConfig(t, minimal+tt.yaml)
		cfg, err := Load(path, LoadOptions{})
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		want := strings.Replace(tt.listen, "DIR/", filepath.Dir(path)+string(filepath.Separator), 1)
		if cfg.Control.Listen != want || cfg.Control.AllowRemote != tt.allowRemote || cfg.Control.Enabled() != (want != "") {
			t.Errorf("%q: control = %+v, want listen %q, allow_remote %v", tt.yaml, cfg.Control, want, tt.allowRemote)
		}
	}
}

// TestInsecureEndpoints: plain http is refused (above) except on loopback, or
// when mapbox.allow_insecure says so; the refusal never shows a credential.
func TestInsecureEndpoints(t *testing.T) {
	accepted := []string{
		"  api_url: http://127.0.0.1:8080\n",
		"  api_url: http://127.3.4.5\n",
		"  api_url: http://localhost:8080/\n",
		"  api_url: http://LOCALHOST\n",
		"  api_url: http://[::1]:8080\n",
		"  api_url: http://[::ffff:127.0.0.1]:8080\n",
		"  s3_endpoint: http://127.0.0.1:9000\n",
		"  api_url: https://api.example.com\n  s3_endpoint: https://s3.example.com\n",
		"  api_url: http://api.example.com\n  s3_endpoint: http://minio.lan:9000\n  allow_insecure: true\n",
	}
	for _, lines := range accepted {
		path := writeConfig(t, strings.Replace(minimal, "  username: example\n", "  username: example\n"+lines, 1))
		cfg, err := Load(path, LoadOptions{})
		if err != nil {
			t.Errorf("%q: %v, want it accepted", lines, err)
			continue
		}
		allowed := strings.Contains(lines, "allow_insecure: true")
		if allowed != cfg.Mapbox.AllowInsecure {
			t.Errorf("%q: AllowInsecure = %v", lines, cfg.Mapbox.AllowInsecure)
		}
		// What allow_insecure lets through is still said, naming the line.
		if allowed && (len(cfg.Warnings) != 2 || !strings.Contains(cfg.Warnings[0], `config.yaml:3: mapbox.api_url: "http://api.example.com" sends the token in clear`) ||
			!strings.Contains(cfg.Warnings[1], `config.yaml:4: mapbox.s3_endpoint: "http://minio.lan:9000" sends the staging credentials in clear`)) {
			t.Errorf("%q: warnings = %q, want one for each URL in clear", lines, cfg.Warnings)
		}
		if !allowed && len(cfg.Warnings) != 0 {
			t.Errorf("%q: warnings = %q, want none", lines, cfg.Warnings)
		}
	}

	// allow_insecure: false is the default, written out.
	path := writeConfig(t, strings.Replace(minimal, "  username: example\n", "  username: example\n  allow_insecure: false\n  api_url: http://api.example.com\n", 1))
	if _, err := Load(path, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "config.yaml:4: mapbox.api_url:") {
		t.Errorf("allow_insecure: false: err = %v, want the api_url refused at line 4", err)
	}

	// The token never shows: not the resolved one, not one written (wrongly)
	// into the URL itself.
	const token = "sk.eyJ1IjoiYWNtZSJ9.c2VjcmV0"
	env := func(string) string { return token }
	for _, url := range []string{"http://api.example.com", "http://acme:" + token + "@api.example.com", "http://api.example.com/?access_token=" + token, "ftp://" + token + "@api.example.com"} {
		path := writeConfig(t, strings.Replace(minimal, "  username: example\n", "  username: example\n  api_url: "+url+"\n", 1))
		_, err := Load(path, LoadOptions{RequireToken: true, Getenv: env})
		if err == nil {
			t.Errorf("api_url %s: accepted", url)
			continue
		}
		if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("api_url %s: the error shows the token: %v", url, err)
		}
	}
}
