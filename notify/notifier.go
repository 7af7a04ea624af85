package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/clock"
	"github.com/tilesyncd/tilesyncd/internal/hookurl"
	"github.com/tilesyncd/tilesyncd/state"
)

// Defaults of Options.
const (
	DefaultConcurrency = 2
	DefaultMaxPending  = 10_000
	DefaultTimeout     = 15 * time.Second
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
)

// Target is one endpoint.
type Target struct {
	URL hookurl.URL
	// Events it is told of; nil or empty: all (Kinds).
	Events []Kind
	// Format of its messages; "": FormatJSON.
	Format Format
}

// Outbox keeps the messages until they are delivered; *state.Store is one
// (see state/outbox.go for what each method guarantees).
type Outbox interface {
	OutboxAdd(targets []string, payload []byte, limit int) (dropped []state.OutboxEntry, err error)
	OutboxPending(target string, n int) ([]state.OutboxEntry, error)
	OutboxDelete(target string, seq uint64) error
	OutboxFailed(target string, seq uint64, msg string) error
	OutboxCounts() (map[string]int, error)
	OutboxDrop(target string) (int, error)
}

var _ Outbox = (*state.Store)(nil)

// Options configure a Notifier. Outbox is required; zero values of the
// others take the defaults noted.
type Options struct {
	Targets []Target
	Outbox  Outbox
	// Logger receives delivery problems and the outbox's drops; nil
	// discards them.
	Logger *slog.Logger
	// HTTPClient sends the requests; nil: a client of the package's own,
	// which does not follow redirects (a POST redirected is not delivered).
	HTTPClient *http.Client
	// Clock stamps events that carry no time; nil: clock.Real.
	Clock clock.Clock
	// Host, when set, names this machine in every payload.
	Host string
	// Secrets are texts no payload may hold (the Mapbox token): any found
	// in an event's fields is replaced by [redacted].
	Secrets []string
	// Concurrency is the requests in flight per endpoint; default 2.
	Concurrency int
	// MaxPending is the messages kept per endpoint; default 10,000. Beyond
	// it the oldest are dropped, and logged.
	MaxPending int
	// Timeout bounds one attempt; default 15 s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed attempt;
	// default 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
}

// Notifier posts events to the targets. Notify may be called from any
// goroutine, before and while Run runs.
type Notifier struct {
	targets    []*target
	outbox     Outbox
	log        *slog.Logger
	client     *http.Client
	clock      clock.Clock
	host       string
	secrets    []string
	concurrent int
	maxPending int
	timeout    time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	running    atomic.Bool
}

// target is a Target with its outbox key and its wake-up call.
type target struct {
	Target
	key    string
	events []Kind
	wake   chan struct{} // holds one wake-up at most
}

func (t *target) wants(k Kind) bool { return slices.Contains(t.events, k) }

// Key is the name a target's entries have in the outbox: a hash of its URL,
// which stays out of the state file.
func Key(u hookurl.URL) string {
	sum := sha256.Sum256([]byte(u.Reveal()))
	return hex.EncodeToString(sum[:8])
}

// New checks opts and returns a Notifier. Errors name a target by its
// place and redacted URL.
func New(opts Options) (*Notifier, error) {
	if opts.Outbox == nil {
		return nil, errors.New("notify: no outbox")
	}
	n := &Notifier{
		outbox:     opts.Outbox,
		log:        opts.Logger,
		client:     opts.HTTPClient,
		clock:      clock.Or(opts.Clock),
		host:       opts.Host,
		concurrent: positive(opts.Concurrency, DefaultConcurrency),
		maxPending: positive(opts.MaxPending, DefaultMaxPending),
		timeout:    positive(opts.Timeout, DefaultTimeout),
		minBackoff: positive(opts.MinBackoff, DefaultMinBackoff),
		maxBackoff: positive(opts.MaxBackoff, DefaultMaxBackoff),
	}
	n.maxBackoff = max(n.maxBackoff, n.minBackoff)
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.log = n.log.With("component", "notify")
	if n.client == nil {
		n.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	for _, s := range opts.Secrets {
		if len(s) >= 4 {
			n.secrets = append(n.secrets, s)
		}
	}
	seen := map[string]int{}
	for i, t := range opts.Targets {
		at := fmt.Sprintf("notify: target %d (%s)", i, t.URL)
		switch {
		case t.URL.IsZero():
			return nil, fmt.Errorf("notify: target %d has no URL", i)
		case t.Format != "" && t.Format != FormatJSON && t.Format != FormatSlack:
			return nil, fmt.Errorf("%s: format %q: want json or slack", at, t.Format)
		}
		if j, dup := seen[t.URL.Reveal()]; dup {
			return nil, fmt.Errorf("%s: the same URL as target %d", at, j)
		}
		seen[t.URL.Reveal()] = i
		nt := &target{Target: t, key: Key(t.URL), events: t.Events, wake: make(chan struct{}, 1)}
		if len(nt.events) == 0 {
			nt.events = Kinds
		}
		for _, k := range nt.events {
			if !k.valid() {
				return nil, fmt.Errorf("%s: event %q: want uploaded, failed or health", at, k)
			}
		}
		if nt.Format == "" {
			nt.Format = FormatJSON
		}
		n.targets = append(n.targets, nt)
	}
	return n, nil
}

func positive[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Notify records ev for every target that wants it and returns: one local
// write, never a request. Delivery is Run's. A failure to record is
// logged (the event is then lost: it is not returned, for the caller's
// work goes on regardless).
func (n *Notifier) Notify(ev Event) {
	if !ev.Kind.valid() {
		n.log.Error("notification of an unknown kind not sent", "event", string(ev.Kind))
		return
	}
	var keys []string
	var to []*target
	for _, t := range n.targets {
		if t.wants(ev.Kind) {
			keys, to = append(keys, t.key), append(to, t)
		}
	}
	if len(keys) == 0 {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = n.clock.Now()
	}
	data, err := json.Marshal(newPayload(newID(), n.host, ev, n.scrub))
	if err != nil {
		n.log.Error("notification not recorded", "event", string(ev.Kind), "err", err)
		return
	}
	dropped, err := n.outbox.OutboxAdd(keys, data, n.maxPending)
	if err != nil {
		n.log.Error("notification not recorded", "event", string(ev.Kind), "tileset", ev.Tileset, "err", err)
		return
	}
	n.logDropped(dropped)
	for _, t := range to {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// scrub replaces the secrets, and every target URL's credentials, in s.
func (n *Notifier) scrub(s string) string {
	for _, secret := range n.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	for _, t := range n.targets {
		s = t.URL.Redact(s)
	}
	return s
}

// logDropped says, per target, how many messages the full outbox dropped.
func (n *Notifier) logDropped(dropped []state.OutboxEntry) {
	for _, t := range n.targets {
		count := 0
		var oldest time.Time
		for _, e := range dropped {
			if e.Target == t.key {
				if count == 0 {
					oldest = e.Added
				}
				count++
			}
		}
		if count > 0 {
			n.log.Warn("notification outbox full: dropped the oldest messages", "url", t.URL, "dropped", count,
				"oldest_added", oldest.Format(time.RFC3339), "max_pending", n.maxPending)
		}
	}
}

// newID is 16 random bytes in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Run delivers what the outbox holds, and what Notify adds, until ctx is
// cancelled; it returns nil then. Messages not yet delivered stay in the
// outbox for the next Run. It first drops the messages of endpoints no
// longer configured. It returns an error when called twice, and when the
// outbox is closed under it (state.ErrClosed): nothing can be delivered
// then. Other outbox errors are logged and retried after a backoff.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("notify: Run called twice")
	}
	n.dropOrphans()
	if len(n.targets) == 0 {
		<-ctx.Done()
		return nil
	}
	errs := make([]error, len(n.targets))
	var wg sync.WaitGroup
	for i, t := range n.targets {
		wg.Go(func() { errs[i] = n.deliver(ctx, t) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// dropOrphans drops the messages of endpoints no longer configured.
func (n *Notifier) dropOrphans() {
	counts, err := n.outbox.OutboxCounts()
	if err != nil {
		n.log.Error("cannot read the notification outbox", "err", err)
		return
	}
	for key := range counts {
		if slices.ContainsFunc(n.targets, func(t *target) bool { return t.key == key }) {
			continue
		}
		dropped, err := n.outbox.OutboxDrop(key)
		if err != nil {
			n.log.Error("cannot drop the notifications of an endpoint no longer configured", "target_key", key, "err", err)
			continue
		}
		n.log.Warn("dropped the notifications of an endpoint no longer configured", "target_key", key, "dropped", dropped)
	}
}
