package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// minimal has 8 lines: a fleet section appended starts on line 9.

func TestFleetAbsent(t *testing.T) {
	cfg, err := Load(writeConfig(t, minimal), LoadOptions{RequireToken: true, Getenv: func(string) string { return "tok" }})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Fleet != nil || cfg.Watch[0].Shared {
		t.Errorf("without a fleet section: Fleet = %+v, shared = %v", cfg.Fleet, cfg.Watch[0].Shared)
	}
}

func TestFleetDefaults(t *testing.T) {
	path := writeConfig(t, minimal+"fleet:\n  redis: redis://127.0.0.1:6379/0\n")
	cfg, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	f := cfg.Fleet
	checks := []struct {
		what      string
		got, want any
	}{
		{"redis", f.Redis, "redis://127.0.0.1:6379/0"},
		{"node", f.Node, fleetName(host)},
		{"group", f.Group, "example"},
		{"lease_ttl", f.LeaseTTL, DefaultFleetLeaseTTL},
		{"password", f.Password.IsZero(), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("a loopback Redis without a password: warnings %q", cfg.Warnings)
	}
}

func TestFleetSharedWatch(t *testing.T) {
	text := strings.Replace(minimal, "  - path: drop\n", "  - path: drop\n    shared: true\n", 1)
	_, err := Load(writeConfig(t, text), LoadOptions{})
	if want := "config.yaml:7: watch[0].shared: true needs a fleet section"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("shared without fleet: %v, want %q", err, want)
	}
	cfg, err := Load(writeConfig(t, text+"fleet:\n  redis: redis://localhost\n  node: n1\n  group: acme\n  lease_ttl: 10s\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Watch[0].Shared || cfg.Fleet.Node != "n1" || cfg.Fleet.Group != "acme" || cfg.Fleet.LeaseTTL != 10*time.Second {
		t.Errorf("shared = %v, fleet = %+v", cfg.Watch[0].Shared, cfg.Fleet)
	}
}

func TestFleetErrorsNameTheLine(t *testing.T) {
	const secret = "hunter2-Pa55"
	tests := []struct {
		name  string
		fleet string
		want  string
	}{
		{"empty section", "fleet:\n", "config.yaml:9: fleet.redis: missing"},
		{"no redis", "fleet:\n  node: a\n", "config.yaml:9: fleet.redis: missing"},
		{"inline password", "fleet:\n  node: a\n  redis: redis://:" + secret + "@redis.example.org:6379/0\n",
			"config.yaml:11: fleet.redis: carries a password: never write it inline"},
		{"inline user and password", "fleet:\n  redis: rediss://tilesyncd:" + secret + "@redis.example.org/0\n",
			"config.yaml:10: fleet.redis: carries a password: never write it inline"},
		{"password in the query", "fleet:\n  redis: redis://redis.example.org/0?password=" + secret + "\n",
			"config.yaml:10: fleet.redis: carries a password (password=)"},
		{"scheme", "fleet:\n  redis: https://redis.example.org/0\n",
			`config.yaml:10: fleet.redis: "https://redis.example.org/0" is not a redis:// or rediss:// URL`},
		{"bad URL", "fleet:\n  redis: \"redis://" + secret + "@[::1\"\n", "config.yaml:10: fleet.redis: is not a valid URL"},
		{"database", "fleet:\n  redis: redis://redis.example.org/zero\n", "config.yaml:10: fleet.redis: \"redis://redis.example.org/zero\": the path must be a database number"},
		{"both password sources", "fleet:\n  redis: redis://r/0\n  password_file: pw\n  password_env: PW\n",
			"config.yaml:12: fleet.password_env: set password_file or password_env, not both"},
		{"node", "fleet:\n  redis: redis://r/0\n  node: \"my laptop\"\n", `config.yaml:11: fleet.node: "my laptop" is not a node name`},
		{"group", "fleet:\n  redis: redis://r/0\n  group: \"a{b}\"\n", `config.yaml:11: fleet.group: "a{b}" is not a group name`},
		{"lease", "fleet:\n  redis: redis://r/0\n  lease_ttl: 10ms\n", "config.yaml:11: fleet.lease_ttl: 10ms is too short"},
		{"unknown key", "fleet:\n  redis: redis://r/0\n  password: " + secret + "\n", `config.yaml:11: unknown key "password" in fleet`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, minimal+tt.fleet), LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestFleetPassword(t *testing.T) {
	const pw = "s3cret-redis-pw"
	env := func(name string) string {
		return map[string]string{"MAPBOX_ACCESS_TOKEN": "tok", "REDIS_PW": pw}[name]
	}
	withToken := LoadOptions{RequireToken: true, Getenv: env}

	t.Run("env", func(t *testing.T) {
		cfg, err := Load(writeConfig(t, minimal+"fleet:\n  redis: rediss://redis.example.org:6380/0\n  password_env: REDIS_PW\n"), withToken)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Fleet.Password.Reveal() != pw {
			t.Errorf("password = %q", cfg.Fleet.Password.Reveal())
		}
		for _, s := range []string{fmt.Sprint(cfg.Fleet), fmt.Sprintf("%+v", *cfg.Fleet), fmt.Sprintf("%#v", cfg.Fleet)} {
			if strings.Contains(s, pw) {
				t.Errorf("the fleet prints its password: %s", s)
			}
		}
	})
	t.Run("env empty", func(t *testing.T) {
		_, err := Load(writeConfig(t, minimal+"fleet:\n  redis: rediss://r/0\n  password_env: NOPE\n"), withToken)
		if want := "config.yaml:11: fleet.password_env: the environment variable NOPE is empty or not set"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want %q", err, want)
		}
	})
	t.Run("file", func(t *testing.T) {
		path := writeConfig(t, minimal+"fleet:\n  redis: rediss://r/0\n  password_file: redis-pw\n")
		pwFile := filepath.Join(filepath.Dir(path), "redis-pw")
		if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, withToken)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Fleet.Password.Reveal() != pw || cfg.Fleet.PasswordFile != pwFile {
			t.Errorf("password = %q from %s", cfg.Fleet.Password.Reveal(), cfg.Fleet.PasswordFile)
		}
		if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, "config.yaml:11: fleet.password_file: ") || !strings.Contains(w, "chmod 600") {
			t.Errorf("a password file others can read: warnings %q", cfg.Warnings)
		}
		// Not asked for: not read.
		os.Remove(pwFile)
		if _, err := Load(path, LoadOptions{}); err != nil {
			t.Errorf("without RequireToken the password file is not needed: %v", err)
		}
		if _, err := Load(path, withToken); err == nil || !strings.Contains(err.Error(), "config.yaml:11: fleet.password_file: cannot read the Redis password") {
			t.Errorf("a missing password file: %v", err)
		}
	})
	t.Run("no password on the network", func(t *testing.T) {
		cfg, err := Load(writeConfig(t, minimal+"fleet:\n  redis: redis://redis.example.org/0\n"), withToken)
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, "config.yaml:10: fleet.redis: no password") {
			t.Errorf("warnings %q", cfg.Warnings)
		}
	})
}

func FuzzFleetRedisURL(f *testing.F) {
	for _, s := range []string{"redis://r/0", "rediss://u:p@h:1/2", "redis://:longpassword@h/0", "redis://h/0?password=x", "redis://[::1", ":", "redis://h:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := &parser{file: "config.yaml"}
		got := p.redisURL(&Config{}, s)
		if got != "" && len(p.errs) != 0 {
			t.Fatalf("%q: returned and refused", s)
		}
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		pw, has := u.User.Password()
		if has && got != "" {
			t.Fatalf("%q: a URL with a password accepted", s)
		}
		for _, e := range p.errs {
			if len(pw) >= 8 && strings.Contains(e.Msg, pw) {
				t.Fatalf("%q: the error shows the password: %s", s, e.Msg)
			}
		}
	})
}
