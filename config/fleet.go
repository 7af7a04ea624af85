package config

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fleet mode: several tilesyncd on one account (or one shared folder)
// coordinate through Redis. See the fleet package.
const (
	// DefaultFleetLeaseTTL is how long a node's lease on a tileset lasts
	// unless renewed: how long a dead node's work waits for another node.
	DefaultFleetLeaseTTL = 30 * time.Second
	minFleetLeaseTTL     = time.Second
	maxFleetNameLen      = 64
)

// Fleet is the fleet section: where the fleet's Redis is and who this node is.
type Fleet struct {
	// Redis is the server's URL, redis:// or rediss:// (TLS), with an
	// optional user name and database number, never a password.
	Redis string
	// Password is resolved by Load when asked for (LoadOptions.RequireToken),
	// from PasswordFile if set, else from the PasswordEnv environment
	// variable if set; it stays empty for a Redis without a password.
	Password     Secret
	PasswordFile string
	PasswordEnv  string
	// Node names this tilesyncd in the fleet: the host name by default.
	Node string
	// Group prefixes every key the fleet keeps in Redis: the nodes of one
	// group share one budget and one ledger. mapbox.username by default.
	Group string
	// LeaseTTL is how long a lease on a tileset lasts unless renewed.
	LeaseTTL time.Duration
}

type fleetYAML struct {
	Redis        string `yaml:"redis"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
	Node         string `yaml:"node"`
	Group        string `yaml:"group"`
	LeaseTTL     string `yaml:"lease_ttl"`
}

// fleet normalises the fleet section and the watch folders' shared flags:
// a shared folder needs a fleet.
func (p *parser) fleet(cfg *Config, raw *fileYAML, base string) {
	present := p.has("fleet")
	if raw.Fleet == nil && !present {
		for i, w := range raw.Watch {
			if w.Shared {
				p.errorf(fmt.Sprintf("watch[%d].shared", i), "true needs a fleet section: the nodes sharing a folder coordinate through Redis (see config.example.yaml)")
			}
		}
		return
	}
	for i, w := range raw.Watch {
		if i < len(cfg.Watch) {
			cfg.Watch[i].Shared = w.Shared
		}
	}
	r := raw.Fleet
	if r == nil {
		r = &fleetYAML{}
	}
	f := &Fleet{PasswordEnv: strings.TrimSpace(r.PasswordEnv)}
	cfg.Fleet = f
	f.Redis = p.redisURL(cfg, strings.TrimSpace(r.Redis))
	if r.PasswordFile != "" {
		f.PasswordFile = absPath(base, r.PasswordFile)
	}
	if f.PasswordFile != "" && f.PasswordEnv != "" {
		p.errorf("fleet.password_env", "set password_file or password_env, not both")
	}
	f.Node = strings.TrimSpace(r.Node)
	if f.Node == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			p.errorf("fleet.node", "not set, and the host name is unknown (%v): name this node", err)
		}
		f.Node = fleetName(host)
	} else if !validFleetName(f.Node) {
		p.errorf("fleet.node", "%q is not a node name (letters, digits, '.', '-' and '_', at most %d)", f.Node, maxFleetNameLen)
	}
	f.Group = strings.TrimSpace(r.Group)
	if f.Group == "" {
		f.Group = cfg.Mapbox.Username
	} else if !validFleetName(f.Group) {
		p.errorf("fleet.group", "%q is not a group name (letters, digits, '.', '-' and '_', at most %d)", f.Group, maxFleetNameLen)
	}
	f.LeaseTTL = p.duration("fleet.lease_ttl", r.LeaseTTL, DefaultFleetLeaseTTL, minFleetLeaseTTL)
	if f.PasswordFile == "" && f.PasswordEnv == "" && f.Redis != "" {
		if u, err := url.Parse(f.Redis); err == nil && !IsLoopback(u.Hostname()) {
			p.warnf(cfg, "fleet.redis", "no password (fleet.password_file or fleet.password_env): anyone who reaches %s can change the fleet's budget and ledger", u.Host)
		}
	}
}

// redisURL checks fleet.redis and returns it as written; "" when it is wrong.
// Errors show the URL without its user information and query, and a URL
// carrying a password is refused without being printed.
func (p *parser) redisURL(cfg *Config, s string) string {
	const at = "fleet.redis"
	if s == "" {
		p.errorf(at, "missing: the fleet's Redis, as redis://host:6379/0 or rediss://host:6380/0 (TLS)")
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		p.errorf(at, "is not a valid URL") // url.Error repeats the URL, password and all
		return ""
	}
	if _, has := u.User.Password(); has {
		p.errorf(at, "carries a password: never write it inline; put it in a file named by fleet.password_file, or in the environment variable named by fleet.password_env")
		return ""
	}
	for k := range u.Query() {
		if strings.Contains(strings.ToLower(k), "pass") {
			p.errorf(at, "carries a password (%s=): never write it inline; use fleet.password_file or fleet.password_env", k)
			return ""
		}
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" || u.Opaque != "" {
		p.errorf(at, "%q is not a redis:// or rediss:// URL with a host", shown)
		return ""
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 || strings.Contains(db, "/") {
			p.errorf(at, "%q: the path must be a database number, like /0", shown)
			return ""
		}
	}
	if u.Port() != "" {
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			p.errorf(at, "%q: port %s is out of range", shown, u.Port())
			return ""
		}
	}
	return s
}

// warnf records a warning naming the file and line of the value at path.
func (p *parser) warnf(cfg *Config, path, format string, args ...any) {
	cfg.Warnings = append(cfg.Warnings, (&Error{File: p.file, Line: p.line(path), Path: path, Msg: fmt.Sprintf(format, args...)}).Error())
}

// has reports whether the file has a value (even an empty one) at the top-level key.
func (p *parser) has(key string) bool {
	n := &p.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	next, _ := child(n, pathPart{key: key, index: -1})
	return next != nil
}

func validFleetName(s string) bool {
	if s == "" || len(s) > maxFleetNameLen {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// fleetName makes a host name a node name: other characters become '-'.
func fleetName(host string) string {
	b := []byte(host)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > maxFleetNameLen {
		b = b[:maxFleetNameLen]
	}
	return string(b)
}

// resolveFleetPassword reads the Redis password from fleet.password_file or
// the environment variable fleet.password_env, and warns when the file can
// be read by other users. Without either, the password stays empty.
func (c *Config) resolveFleetPassword(getenv func(string) string) error {
	f := c.Fleet
	if f == nil {
		return nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	p := &parser{file: displayName(c.File), root: c.root}
	switch {
	case f.PasswordFile != "":
		data, err := os.ReadFile(f.PasswordFile)
		if err != nil {
			p.errorf("fleet.password_file", "cannot read the Redis password: %v", err)
			return p.err()
		}
		f.Password = NewSecret(strings.TrimSpace(string(data)))
		if f.Password.IsZero() {
			p.errorf("fleet.password_file", "%s is empty", f.PasswordFile)
		}
		if fi, err := os.Stat(f.PasswordFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			p.warnf(c, "fleet.password_file", "%s can be read by other users (mode %04o): run chmod 600 %s", f.PasswordFile, fi.Mode().Perm(), f.PasswordFile)
		}
	case f.PasswordEnv != "":
		f.Password = NewSecret(strings.TrimSpace(getenv(f.PasswordEnv)))
		if f.Password.IsZero() {
			p.errorf("fleet.password_env", "the environment variable %s is empty or not set", f.PasswordEnv)
		}
	}
	return p.err()
}
