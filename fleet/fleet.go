package fleet

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bsm/redislock"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Errors callers test with errors.Is.
var (
	// ErrLeaseHeld: another node holds the tileset's lease (TryAcquire).
	ErrLeaseHeld = errors.New("fleet: another node holds the lease")
	// ErrLeaseLost: the lease expired, was taken over, or could not be
	// confirmed in time; work under it must stop. A lost lease stays lost.
	ErrLeaseLost = errors.New("fleet: lease lost")
	// ErrFenced: a ledger write was refused because its fencing token is
	// older than the tileset's current one (it also matches ErrLeaseLost).
	ErrFenced = errors.New("fleet: fencing token superseded")
	// ErrClosed: the Fleet was closed.
	ErrClosed = errors.New("fleet: closed")
	// ErrUnreachable: this node has not reached Redis since it started (Open
	// found it down), so it has not joined the fleet: leases and ledger
	// calls fail at once with it, and shared folders wait (fail closed).
	ErrUnreachable = errors.New("fleet: Redis unreachable")

	errShortReply = errors.New("unexpected reply from a fleet script")
)

// Defaults of Options.
const (
	DefaultLeaseTTL     = 30 * time.Second
	DefaultHeartbeatTTL = 15 * time.Second
	DefaultTimeout      = 2 * time.Second
)

// Options configure Open. Password is the only secret: Options print it as
// [redacted] with %v, %+v and %#v.
type Options struct {
	// URL is the Redis server, redis:// or rediss:// (TLS), with an optional
	// user name and database number. It must not carry a password.
	URL string
	// Password is Redis' AUTH password; "" for none.
	Password string
	// Node names this tilesyncd in the fleet; Group prefixes every key.
	Node, Group string
	// Logger receives the fleet's own lines; nil discards.
	Logger *slog.Logger
	// LeaseTTL is how long a lease lasts unless renewed (default 30 s);
	// leases are renewed every third of it.
	LeaseTTL time.Duration
	// HeartbeatTTL is how long a node counts as alive after its last
	// heartbeat (default 15 s); it beats every third of it.
	HeartbeatTTL time.Duration
	// Timeout bounds each Redis call: dial, read, write (default 2 s).
	Timeout time.Duration
	// TLSConfig replaces the TLS configuration of a rediss:// URL (a
	// private certificate authority); nil keeps the system's roots.
	TLSConfig *tls.Config
	// KnownNodes is how many nodes were alive when this node last saw the
	// fleet (in an earlier run: the daemon keeps what NodesSeen told it);
	// 0 if unknown. Until the first heartbeat reaches Redis, the budgets'
	// fallback share is 1/KnownNodes of the budget (1/1 when unknown).
	KnownNodes int
	// NodesSeen, if set, is called with the count of nodes alive after a
	// heartbeat that reached Redis, when that count differs from the one
	// before (KnownNodes at first), so that the caller can keep it for its
	// next start (KnownNodes). Calls come one at a time, in order, from Open
	// or from the heartbeat's goroutine, with no lock of the Fleet held;
	// none comes after Close returns. It must return quickly: the heartbeat
	// waits for it.
	NodesSeen func(n int)

	// now is the node's clock, time.Now by default: a test sets a skewed
	// one to show that no node's clock reaches Redis.
	now func() time.Time
}

// String prints the options without the password.
func (o Options) String() string {
	return fmt.Sprintf("fleet.Options{URL:%q Node:%q Group:%q Password:[redacted]}", redactURL(o.URL), o.Node, o.Group)
}

// GoString prints the options without the password.
func (o Options) GoString() string { return o.String() }

// Fleet is this node's membership of a fleet: a connection to its Redis, a
// heartbeat renewed in the background, and the factory of its shared
// budget and leases. Open it once per process; Close it last.
type Fleet struct {
	opts     Options
	log      *slog.Logger
	shownURL string // the URL without user information or query
	instance string // this process, told apart from another with the same node name
	keys     keyspace
	rdb      *redis.Client
	locks    *redislock.Client
	limiter  *redis_rate.Limiter
	metrics  Metrics
	now      func() time.Time

	mu      sync.Mutex
	joined  bool   // a heartbeat reached Redis since Open
	alive   int    // nodes alive when last seen (Options.KnownNodes before)
	epoch   string // the fleet's epoch in Redis, to notice a Redis that lost its data
	beatErr error  // the last heartbeat's (or Open's) error, nil when it reached Redis
	budgets []*Budget
	leases  map[*Lease]struct{}
	closed  bool

	cancel context.CancelFunc // stops the background goroutines
	wg     sync.WaitGroup
}

// Open connects to the fleet's Redis, registers this node (it joins the
// fleet) and starts its heartbeat.
//
// A Redis that does not answer (refused, timed out, loading its data…) is
// not an error: Open logs a warning and returns a Fleet that has not joined
// yet, as after a failed heartbeat: Reachable reports false with the error,
// budgets run in fallback on this node's share (Options.KnownNodes), leases
// and ledger calls fail with ErrUnreachable. The heartbeat tries again every
// heartbeat interval (at most joinRetry) and joins at the first that
// reaches Redis. Open fails only for a configuration error (the URL, the
// names), when Redis answers but refuses this node (wrong or missing
// password, a user without the right, no such database), or when ctx ends
// first. Errors name the URL without its password or user information,
// and never show the password.
func Open(ctx context.Context, opts Options) (*Fleet, error) {
	ro, shown, err := redisOptions(&opts)
	if err != nil {
		return nil, err
	}
	f := &Fleet{opts: opts, log: opts.Logger, shownURL: shown, instance: randomID(), keys: newKeyspace(opts.Group),
		now: opts.now, leases: map[*Lease]struct{}{}, alive: max(opts.KnownNodes, 0)}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.log = f.log.With("component", "fleet", "node", opts.Node)
	libraryLog.Do(func() { redis.SetLogger(redisLogger{f.log.With("library", "go-redis")}) })
	f.rdb = redis.NewClient(ro)
	f.locks = redislock.New(f.rdb)
	f.limiter = redis_rate.NewLimiter(f.rdb)
	if err := f.join(ctx); err != nil {
		if refused(err) || ctx.Err() != nil {
			f.rdb.Close()
			return nil, err
		}
		f.mu.Lock()
		f.beatErr = err
		f.mu.Unlock()
		f.log.Warn(fmt.Sprintf("Redis at %s does not answer: starting on this node's share of the budget; shared folders wait until it answers", shown),
			"nodes_known", f.nodesAlive(), "err", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.wg.Add(1)
	go f.heartbeatLoop(bg)
	return f, nil
}

// redisOptions checks opts, fills in defaults, and returns go-redis options
// and the URL as it may be shown.
func redisOptions(opts *Options) (*redis.Options, string, error) {
	if !validName(opts.Node) || !validName(opts.Group) {
		return nil, "", fmt.Errorf("fleet: node %q and group %q must be 1 to 64 letters, digits, '.', '-' or '_'", opts.Node, opts.Group)
	}
	u, err := url.Parse(opts.URL)
	if err != nil { // url.Error repeats the URL, password and all
		return nil, "", errors.New("fleet: the Redis URL does not parse")
	}
	shown := redactURL(opts.URL)
	if _, has := u.User.Password(); has {
		return nil, "", fmt.Errorf("fleet: the Redis URL %s carries a password: pass it as Options.Password", shown)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, "", fmt.Errorf("fleet: %s is not a redis:// or rediss:// URL", shown)
	}
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, "", fmt.Errorf("fleet: Redis URL %s: %w", shown, redactErr(err, opts.Password))
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.HeartbeatTTL <= 0 {
		opts.HeartbeatTTL = DefaultHeartbeatTTL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	ro.Password = opts.Password
	ro.ClientName = "tilesyncd-" + opts.Node
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = opts.Timeout, opts.Timeout, opts.Timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = 1 // the budget and the leases have their own retries
	ro.DialerRetries = 1
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if opts.TLSConfig != nil && u.Scheme == "rediss" {
		ro.TLSConfig = opts.TLSConfig
	}
	return ro, shown, nil
}

// join pings Redis, notes its version and registers this node: the first
// contact, from Open or, when Open found Redis down, from the heartbeat.
func (f *Fleet) join(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	if err := f.rdb.Ping(cctx).Err(); err != nil {
		return f.noAnswer(err)
	}
	version, err := f.redisVersion(ctx)
	if err != nil {
		return err
	}
	if major, _, _ := strings.Cut(version, "."); major != "" && toInt64(major) < 7 {
		f.log.Warn("Redis older than 7: the fleet is tested on Redis 7", "version", version)
	}
	prev, err := f.beat(ctx)
	if err != nil {
		return fmt.Errorf("fleet: Redis at %s: register node %s: %w", f.shownURL, f.opts.Node, redactErr(err, f.opts.Password))
	}
	if prev != "" && prev != f.instance {
		f.log.Warn("another tilesyncd has this node name in the fleet (or this one restarted within the heartbeat's TTL): give each node its own fleet.node", "heartbeat_ttl", f.opts.HeartbeatTTL)
	}
	f.log.Info("joined the fleet", "redis", f.shownURL, "redis_version", version, "group", f.opts.Group, "nodes_alive", f.nodesAlive())
	return nil
}

func (f *Fleet) redisVersion(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	info, err := f.rdb.Info(cctx, "server").Result()
	if err != nil {
		return "", f.noAnswer(err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "unknown", nil
}

// Node is this node's name in the fleet.
func (f *Fleet) Node() string { return f.opts.Node }

// Group is the fleet's group: the prefix of its keys.
func (f *Fleet) Group() string { return f.opts.Group }

// Metrics returns the fleet's counters; they are updated in place.
func (f *Fleet) Metrics() *Metrics { return &f.metrics }

// NodeInfo is one live node as Redis sees it. Durations are measured on
// Redis' clock, so the nodes' own clocks do not matter.
type NodeInfo struct {
	Name string
	// Seen is how long ago its last heartbeat reached Redis.
	Seen time.Duration
	// Expires is how long it counts as alive without another heartbeat.
	Expires time.Duration
}

// Nodes lists the nodes alive now, by name.
func (f *Fleet) Nodes(ctx context.Context) ([]NodeInfo, error) {
	cctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	// A reply of names (strings) and times (integers).
	raw, err := nodesScript.Run(cctx, f.rdb, []string{f.keys.nodes()}, f.keys.node("")).Slice()
	if err != nil {
		return nil, f.redisErr("list nodes", err)
	}
	var nodes []NodeInfo
	now := toInt64(raw[0])
	for i := 1; i+2 < len(raw); i += 3 {
		name, _ := raw[i].(string)
		expiry, beat := toInt64(raw[i+1]), toInt64(raw[i+2])
		nodes = append(nodes, NodeInfo{Name: name, Seen: ms(now - beat), Expires: ms(expiry - now)})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

// Info is what `tilesyncd check` reports of the fleet.
type Info struct {
	// URL is the Redis URL without user information or query.
	URL          string
	RedisVersion string
	Node, Group  string
	Nodes        []NodeInfo
	// Limit requests per Window is the account's limit the fleet learned
	// from Mapbox's headers and shares, LimitFrom the node that published
	// it; zero when none was learned yet (each node then uses its
	// configured requests_per_minute).
	Limit     int
	Window    time.Duration
	LimitFrom string
	// Held is how long a 429 or an outage still holds every node (0: none).
	Held time.Duration
}

// Info asks Redis for its version, the nodes alive and the shared limit
// (it asks even before this node joined: for `tilesyncd check`).
func (f *Fleet) Info(ctx context.Context) (Info, error) {
	info := Info{URL: f.shownURL, Node: f.opts.Node, Group: f.opts.Group}
	var err error
	if info.RedisVersion, err = f.redisVersion(ctx); err != nil {
		return info, err
	}
	if info.Nodes, err = f.Nodes(ctx); err != nil {
		return info, err
	}
	st, err := f.sharedState(ctx, f.keys.budget(""))
	if err != nil {
		return info, err
	}
	info.Limit, info.Window, info.LimitFrom = st.limit, st.window, st.limitFrom
	info.Held = max(st.rateHold, st.outageHold)
	return info, nil
}

// Close stops the heartbeat and the shared budgets (their waiters get
// ErrClosed), releases the leases still held, removes this node from the
// fleet's list and closes the connection. It waits for every goroutine the
// Fleet started; Redis is given Options.Timeout at most, and nothing when
// this node never joined.
func (f *Fleet) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	leases := make([]*Lease, 0, len(f.leases))
	for l := range f.leases {
		leases = append(leases, l)
	}
	budgets := f.budgets
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.Timeout)
	defer cancel()
	for _, l := range leases {
		l.Release(ctx)
	}
	f.cancel()
	for _, b := range budgets {
		b.close()
	}
	f.wg.Wait()
	f.mu.Lock()
	joined := f.joined
	f.mu.Unlock()
	if joined {
		leaveScript.Run(ctx, f.rdb, []string{f.keys.nodes(), f.keys.node(f.opts.Node)}, f.opts.Node, f.instance)
	}
	return f.rdb.Close()
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func randomID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// libraryLog routes go-redis's own lines (it prints to stderr otherwise:
// "failed to dial after 5 attempts") to the first Fleet's logger, at debug
// level: the fleet logs what matters of them itself. go-redis has one
// logger per process.
var libraryLog sync.Once

type redisLogger struct{ log *slog.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.log.Debug(fmt.Sprintf(format, v...))
}
