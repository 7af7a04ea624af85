package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
)

// Defaults, used where the file says nothing.
const (
	DefaultAPIURL            = "https://api.mapbox.com"
	DefaultRequestsPerMinute = 30
	DefaultParallelParts     = 4
	DefaultTokenEnv          = "MAPBOX_ACCESS_TOKEN"
	DefaultPollInterval      = 10 * time.Second
	DefaultSettle            = 5 * time.Second
	DefaultRescanInterval    = time.Hour
	DefaultTilesetTemplate   = "{username}.{stem}"
	DefaultNameTemplate      = "{stem}"
	// DefaultStagedMaxAge is how old a staged object may be when its upload
	// is created: Mapbox's staging bucket does not keep objects for ever.
	DefaultStagedMaxAge = 24 * time.Hour
)

// Watch modes.
const (
	ModeAuto   = "auto"   // poll on network and FUSE filesystems, notify elsewhere
	ModeNotify = "notify" // file-change notifications, with periodic rescans
	ModePoll   = "poll"   // walk and compare every poll_interval
)

// Config is a parsed, normalised configuration.
type Config struct {
	// File is the configuration file's path, as given ("" when parsed from a reader).
	File   string
	Mapbox Mapbox
	State  State
	Watch  []*Watch
	Rules  []*Rule
	// Control is the local control endpoint (status, metrics, health).
	Control Control
	// Fleet is fleet mode on Redis (fleet.go); nil without a fleet section.
	Fleet *Fleet
	// Notify are the endpoints told of uploads, failures and health (notify.go).
	Notify []*Notify
	// root is the parsed YAML, kept to find the line of a value in later errors.
	root yaml.Node
	// Warnings are problems that do not stop tilesyncd (a token file others can
	// read), each naming the file and line; callers print or log them.
	Warnings []string
}

// Mapbox is the account and the API endpoints.
type Mapbox struct {
	Username string
	// Token is resolved by Load when asked for (LoadOptions.RequireToken), from
	// TokenFile if set, else from the TokenEnv environment variable.
	Token     Secret
	TokenFile string
	TokenEnv  string
	// APIURL is the Uploads API base URL (a test server's, to point tilesyncd at one).
	APIURL string
	// S3Endpoint is the staging bucket's S3 endpoint; "" means AWS.
	S3Endpoint string
	// AllowInsecure lets APIURL and S3Endpoint be plain http:// on a host
	// other than loopback. Without it such a URL is a configuration error:
	// the token (API) and the staging credentials (S3) would cross the
	// network in clear.
	AllowInsecure bool
	// S3Checksum is when checksums go with staged bytes: "when_supported"
	// (the AWS SDK's default) or "when_required" (for S3-compatible servers
	// that reject the newer checksum headers).
	S3Checksum string
	// ParallelParts is how many parts of a large file are sent at once.
	ParallelParts     int
	RequestsPerMinute int
	// StagedMaxAge: bytes staged longer ago than this when their upload is
	// to be created (a job held back by an outage or a refused token) are
	// staged again first.
	StagedMaxAge time.Duration
	// PublishesPerMinute and MTSMaxQueued bound MTS publishes (mts.go).
	PublishesPerMinute, MTSMaxQueued int
	// CleanupCompletedAfter: the daemon deletes the account's completed
	// upload statuses older than this from Mapbox's list (cleanup.go); 0: off.
	CleanupCompletedAfter time.Duration
	// BandwidthLimit caps what staging sends per second, by a weekly
	// timetable or always (bandwidth.go); the zero Schedule: no cap.
	BandwidthLimit bwlimit.Schedule
}

// State is where tilesyncd keeps its memory.
type State struct {
	// Path is the bbolt database file.
	Path string
}

// Watch is one watched folder.
type Watch struct {
	Path           string // absolute, cleaned
	Mode           string // ModeAuto, ModeNotify or ModePoll
	PollInterval   time.Duration
	Settle         time.Duration
	RescanInterval time.Duration
	Recursive      bool
	// FollowLinks follows links whose target is outside the folder; by
	// default they are ignored (links that stay inside are always followed).
	FollowLinks bool
	// Ignore holds the user's globs; the built-in defaults are always applied too.
	Ignore  []string
	ignores []*Glob
	// Shared: several nodes of the fleet watch this folder (fleet.go).
	Shared bool
}

// LoadOptions says what the caller needs of the configuration.
type LoadOptions struct {
	// RequireToken makes a missing token an error and resolves Mapbox.Token,
	// and the fleet's Redis password (Fleet.Password) when there is a fleet.
	// Commands that never talk to Mapbox (plan) leave it false.
	RequireToken bool
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Load reads, parses and validates the configuration file at path.
func Load(path string, opts LoadOptions) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	cfg, err := Parse(bytes.NewReader(data), path)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.RequireToken {
		if err := cfg.resolveToken(opts.Getenv); err != nil {
			return nil, err
		}
		if err := cfg.resolveFleetPassword(opts.Getenv); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// The YAML shape of the file. Durations are strings, parsed by normalise so that
// their errors name the line like every other error.
type fileYAML struct {
	Mapbox mapboxYAML  `yaml:"mapbox"`
	State  stateYAML   `yaml:"state"`
	Watch  []watchYAML `yaml:"watch"`
	Rules  []ruleYAML  `yaml:"rules"`
	// Control is in control.go.
	Control controlYAML `yaml:"control"`
	// Fleet is in fleet.go.
	Fleet *fleetYAML `yaml:"fleet"`
	// Notify is in notify.go.
	Notify []notifyYAML `yaml:"notify"`
}

type mapboxYAML struct {
	Username          string `yaml:"username"`
	TokenFile         string `yaml:"token_file"`
	TokenEnv          string `yaml:"token_env"`
	APIURL            string `yaml:"api_url"`
	S3Endpoint        string `yaml:"s3_endpoint"`
	AllowInsecure     bool   `yaml:"allow_insecure"`
	S3Checksum        string `yaml:"s3_checksum"`
	ParallelParts     *int   `yaml:"parallel_parts"`
	RequestsPerMinute *int   `yaml:"requests_per_minute"`
	StagedMaxAge      string `yaml:"staged_max_age"`
	// PublishesPerMinute and MTSMaxQueued are in mts.go.
	PublishesPerMinute *int `yaml:"publishes_per_minute"`
	MTSMaxQueued       *int `yaml:"mts_max_queued"`
	// CleanupCompletedAfter is in cleanup.go.
	CleanupCompletedAfter string `yaml:"cleanup_completed_after"`
	// BandwidthLimit is in bandwidth.go.
	BandwidthLimit string `yaml:"bandwidth_limit"`
}

type stateYAML struct {
	Path string `yaml:"path"`
}

type watchYAML struct {
	Path           string   `yaml:"path"`
	Mode           string   `yaml:"mode"`
	PollInterval   string   `yaml:"poll_interval"`
	Settle         string   `yaml:"settle"`
	RescanInterval string   `yaml:"rescan_interval"`
	Recursive      *bool    `yaml:"recursive"`
	FollowLinks    bool     `yaml:"follow_links"`
	Ignore         []string `yaml:"ignore"`
	Shared         bool     `yaml:"shared"`
}

type ruleYAML struct {
	Match   string `yaml:"match"`
	Regex   string `yaml:"regex"`
	Tileset string `yaml:"tileset"`
	Name    string `yaml:"name"`
	Skip    bool   `yaml:"skip"`
	// Target and the MTS keys are in mts.go.
	Target      string `yaml:"target"`
	Recipe      string `yaml:"recipe"`
	Source      string `yaml:"source"`
	Layer       string `yaml:"layer"`
	Incremental bool   `yaml:"incremental"`
}

// Parse decodes and normalises a configuration read from r. name is the file's
// path, used in error messages and to resolve relative paths (relative to the
// file's folder; to the working directory when name is ""). Parse does not look
// at the filesystem beyond that: Validate does.
func Parse(r io.Reader, name string) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayName(name), err)
	}
	p := &parser{file: displayName(name)}
	if err := yaml.Unmarshal(data, &p.root); err != nil {
		return nil, p.yamlError(err)
	}
	var raw fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, p.yamlError(err)
	}
	base, err := baseDir(name)
	if err != nil {
		return nil, err
	}
	cfg := &Config{File: name, root: p.root}
	p.normalise(cfg, &raw, base)
	if err := p.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func displayName(name string) string {
	if name == "" {
		return "config"
	}
	return name
}

func baseDir(name string) (string, error) {
	if name == "" {
		return os.Getwd()
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	return filepath.Dir(abs), nil
}

func (p *parser) normalise(cfg *Config, raw *fileYAML, base string) {
	m := &cfg.Mapbox
	m.Username = strings.TrimSpace(raw.Mapbox.Username)
	switch {
	case m.Username == "":
		p.errorf("mapbox.username", "missing: the Mapbox account name the tilesets belong to")
	case !validNamePart(m.Username):
		p.errorf("mapbox.username", "%q is not a Mapbox username (lower-case letters, digits, - and _)", m.Username)
	}
	m.TokenEnv = orDefault(raw.Mapbox.TokenEnv, DefaultTokenEnv)
	if raw.Mapbox.TokenFile != "" {
		m.TokenFile = absPath(base, raw.Mapbox.TokenFile)
	}
	m.AllowInsecure = raw.Mapbox.AllowInsecure
	m.APIURL = strings.TrimRight(orDefault(raw.Mapbox.APIURL, DefaultAPIURL), "/")
	p.checkURL(cfg, "mapbox.api_url", m.APIURL, "the token")
	m.S3Endpoint = strings.TrimRight(raw.Mapbox.S3Endpoint, "/")
	if m.S3Endpoint != "" {
		p.checkURL(cfg, "mapbox.s3_endpoint", m.S3Endpoint, "the staging credentials")
	}
	m.S3Checksum = orDefault(raw.Mapbox.S3Checksum, "when_supported")
	if m.S3Checksum != "when_supported" && m.S3Checksum != "when_required" {
		p.errorf("mapbox.s3_checksum", "%q: want when_supported or when_required", m.S3Checksum)
	}
	m.ParallelParts = DefaultParallelParts
	if raw.Mapbox.ParallelParts != nil {
		m.ParallelParts = *raw.Mapbox.ParallelParts
		if m.ParallelParts < 1 || m.ParallelParts > 32 {
			p.errorf("mapbox.parallel_parts", "%d is out of range (1 to 32)", m.ParallelParts)
		}
	}
	m.RequestsPerMinute = DefaultRequestsPerMinute
	if raw.Mapbox.RequestsPerMinute != nil {
		m.RequestsPerMinute = *raw.Mapbox.RequestsPerMinute
		if m.RequestsPerMinute < 1 || m.RequestsPerMinute > 100000 {
			p.errorf("mapbox.requests_per_minute", "%d is out of range (1 to 100000)", m.RequestsPerMinute)
		}
	}
	m.StagedMaxAge = p.duration("mapbox.staged_max_age", raw.Mapbox.StagedMaxAge, DefaultStagedMaxAge, time.Second)
	p.cleanup(cfg, raw.Mapbox)
	p.bandwidth(cfg, raw.Mapbox)

	if raw.State.Path != "" {
		cfg.State.Path = absPath(base, raw.State.Path)
	} else {
		dir, err := DefaultStateDir()
		if err != nil {
			p.errorf("state.path", "not set, and no default state folder: %v", err)
		}
		cfg.State.Path = filepath.Join(dir, "state.db")
	}

	if len(raw.Watch) == 0 {
		p.errorf("watch", "missing: at least one folder to watch")
	}
	for i, w := range raw.Watch {
		cfg.Watch = append(cfg.Watch, p.watch(fmt.Sprintf("watch[%d]", i), w, base))
	}
	if len(raw.Rules) == 0 {
		p.errorf("rules", "missing: at least one rule mapping files to tilesets")
	}
	for i, r := range raw.Rules {
		cfg.Rules = append(cfg.Rules, p.rule(i, r))
	}
	p.mts(cfg, raw, base)
	p.control(cfg, raw.Control, base)
	p.fleet(cfg, raw, base)
	p.notify(cfg, raw.Notify)
}

func (p *parser) watch(at string, raw watchYAML, base string) *Watch {
	w := &Watch{Mode: orDefault(raw.Mode, ModeAuto), Recursive: true, Ignore: raw.Ignore}
	if raw.Path == "" {
		p.errorf(at+".path", "missing: the folder to watch")
	} else {
		w.Path = absPath(base, raw.Path)
	}
	switch w.Mode {
	case ModeAuto, ModeNotify, ModePoll:
	default:
		p.errorf(at+".mode", "%q is not a mode (auto, notify or poll)", w.Mode)
	}
	w.PollInterval = p.duration(at+".poll_interval", raw.PollInterval, DefaultPollInterval, 100*time.Millisecond)
	w.Settle = p.duration(at+".settle", raw.Settle, DefaultSettle, 0)
	w.RescanInterval = p.duration(at+".rescan_interval", raw.RescanInterval, DefaultRescanInterval, time.Second)
	if raw.Recursive != nil {
		w.Recursive = *raw.Recursive
	}
	w.FollowLinks = raw.FollowLinks
	for j, pat := range raw.Ignore {
		g, err := CompileGlob(pat)
		if err != nil {
			p.errorf(fmt.Sprintf("%s.ignore[%d]", at, j), "%v", err)
			continue
		}
		w.ignores = append(w.ignores, g)
	}
	return w
}

func (p *parser) duration(at, s string, def, min time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(at, "%q is not a duration (write it like 500ms, 10s, 5m or 1h)", s)
		return def
	}
	if d < min {
		p.errorf(at, "%s is too short (at least %s)", d, min)
		return def
	}
	return d
}

// checkURL checks an endpoint that secret sends credentials to: an http(s)
// URL with no query or user information, and https unless its host is
// loopback or mapbox.allow_insecure is set (then it is a warning). Errors show
// the URL without its user information, query and fragment, so a credential
// written there by mistake is not printed.
func (p *parser) checkURL(cfg *Config, at, s, secret string) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole URL: say only that it does not parse.
		p.errorf(at, "is not a valid URL")
		return
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}).String()
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errorf(at, "%q is not an http(s) URL", shown)
		return
	}
	if u.RawQuery != "" || u.User != nil {
		p.errorf(at, "must not carry a query or user information (the token is never written in the configuration)")
		return
	}
	if u.Scheme != "http" || IsLoopback(u.Hostname()) {
		return
	}
	if !cfg.Mapbox.AllowInsecure {
		p.errorf(at, "%q sends %s in clear; use https, or set mapbox.allow_insecure: true", shown, secret)
		return
	}
	cfg.Warnings = append(cfg.Warnings, (&Error{File: p.file, Line: p.line(at), Path: at,
		Msg: fmt.Sprintf("%q sends %s in clear (allowed by mapbox.allow_insecure)", shown, secret)}).Error())
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

func absPath(base, p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}

// WatchFor returns the watch folder that contains the absolute path abs, and
// the path relative to it (slash-separated).
func (c *Config) WatchFor(abs string) (*Watch, string, bool) {
	for _, w := range c.Watch {
		rel, err := filepath.Rel(w.Path, abs)
		if err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
			return w, filepath.ToSlash(rel), true
		}
	}
	return nil, "", false
}

// WatchByPath returns the watch folders by their paths (Watch.Path).
func (c *Config) WatchByPath() map[string]*Watch {
	m := make(map[string]*Watch, len(c.Watch))
	for _, w := range c.Watch {
		m[w.Path] = w
	}
	return m
}
