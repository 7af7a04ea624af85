package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// Held is the content a tileset holds, as the ledger records it.
type Held struct {
	Hash     string // of the bytes, as the sender computes it
	UploadID string // the Mapbox upload that made the tileset from them
	Node     string // the node that recorded it
	Token    int64  // its lease's fencing token
	// At is when it was recorded, on Redis' clock; Age is how long ago,
	// measured by Redis when read.
	At  time.Time
	Age time.Duration
}

// Intent is a create a holder was about to send: a node that takes the
// lease over and finds one resolves it through the Mapbox list (was an
// upload of that tileset created after At?) before sending its own.
type Intent struct {
	Node      string
	Hash      string
	StagedURL string // Credentials.URL of the staged object: no credentials
	Token     int64
	// At is when it was recorded, on Redis' clock; Age is how long ago,
	// measured by Redis when read. Compare At with Mapbox's times through
	// Redis' and Mapbox's offsets, not this node's clock.
	At  time.Time
	Age time.Duration
}

// Holds reports whether the ledger shows that the tileset holds the content
// with this hash, and the upload that made it. Reads need no lease.
// Before this node has joined the fleet (Open found Redis down), reads fail
// at once with ErrUnreachable.
func (f *Fleet) Holds(ctx context.Context, tileset, hash string) (uploadID string, ok bool, err error) {
	h, ok, err := f.Held(ctx, tileset)
	if err != nil || !ok || h.Hash != hash {
		return "", false, err
	}
	return h.UploadID, true, nil
}

// Held returns the ledger's record of what the tileset holds; ok is false
// when it has none.
func (f *Fleet) Held(ctx context.Context, tileset string) (Held, bool, error) {
	m, now, err := f.readHash(ctx, f.keys.held(tileset))
	if err != nil || m == nil {
		return Held{}, false, err
	}
	at := toInt64(m["at"])
	return Held{Hash: m["hash"], UploadID: m["upload_id"], Node: m["node"], Token: toInt64(m["token"]),
		At: time.UnixMilli(at), Age: ms(now - at)}, true, nil
}

// Intent returns the tileset's intent; ok is false when none is recorded.
func (f *Fleet) Intent(ctx context.Context, tileset string) (Intent, bool, error) {
	m, now, err := f.readHash(ctx, f.keys.intent(tileset))
	if err != nil || m == nil {
		return Intent{}, false, err
	}
	at := toInt64(m["at"])
	return Intent{Node: m["node"], Hash: m["hash"], StagedURL: m["url"], Token: toInt64(m["token"]),
		At: time.UnixMilli(at), Age: ms(now - at)}, true, nil
}

// readHash returns a hash of the ledger (nil if absent) and Redis' time.
func (f *Fleet) readHash(ctx context.Context, key string) (map[string]string, int64, error) {
	if err := f.notJoined("read the ledger"); err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	res, err := readScript.Run(ctx, f.rdb, []string{key}).Slice()
	if err != nil {
		return nil, 0, f.redisErr("read the ledger", err)
	}
	if len(res) < 1 {
		return nil, 0, f.redisErr("read the ledger", errShortReply)
	}
	now := toInt64(res[0])
	if len(res) == 1 {
		return nil, now, nil
	}
	m := make(map[string]string, len(res)/2)
	for i := 1; i+1 < len(res); i += 2 {
		k, _ := res[i].(string)
		v, _ := res[i+1].(string)
		m[k] = v
	}
	return m, now, nil
}

// RecordHeld records that the tileset now holds the content with this hash,
// made by uploadID, and clears an intent for the same hash. Fenced: refused
// (ErrLeaseLost, and ErrFenced when superseded) unless this lease still
// holds and its token is the newest.
func (l *Lease) RecordHeld(ctx context.Context, hash, uploadID string) error {
	if hash == "" || uploadID == "" {
		return errors.New("fleet: record held: empty hash or upload ID")
	}
	_, err := l.fenced(ctx, "record what it holds", recordHeldScript, []any{l.f.opts.Node, hash, uploadID},
		l.f.keys.held(l.tileset), l.f.keys.intent(l.tileset))
	return err
}

// SetIntent records, before a create, that this node is about to create an
// upload of the tileset from the staged object at stagedURL holding the
// content with this hash; the time is Redis'. Fenced like RecordHeld, so a
// successful SetIntent also confirms the lease. stagedURL must carry no
// credentials (no user information, no query): nothing secret goes to Redis.
func (l *Lease) SetIntent(ctx context.Context, hash, stagedURL string) error {
	if hash == "" || stagedURL == "" {
		return errors.New("fleet: set intent: empty hash or staged URL")
	}
	if u, err := url.Parse(stagedURL); err != nil || u.User != nil || u.RawQuery != "" {
		return errors.New("fleet: set intent: the staged URL must be a plain URL, without credentials or query")
	}
	_, err := l.fenced(ctx, "record its intent", setIntentScript, []any{l.f.opts.Node, hash, stagedURL}, l.f.keys.intent(l.tileset))
	return err
}

// ClearIntent removes the tileset's intent (the create was resolved another
// way). Fenced like RecordHeld.
func (l *Lease) ClearIntent(ctx context.Context) error {
	_, err := l.fenced(ctx, "clear the intent", clearIntentScript, nil, l.f.keys.intent(l.tileset))
	return err
}

// fenced runs a script that starts with fenceCheck, for this lease: KEYS are
// the lock, the fence and extra; ARGV the lock's value, the token and args.
// A refusal loses the lease.
func (l *Lease) fenced(ctx context.Context, what string, s *redis.Script, args []any, extra ...string) (int64, error) {
	if err := l.held(); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.f.opts.Timeout)
	defer cancel()
	keys := append([]string{l.f.keys.lease(l.tileset), l.f.keys.fence(l.tileset)}, extra...)
	res, err := s.Run(ctx, l.f.rdb, keys, append([]any{l.value, l.token}, args...)...).Int64Slice()
	if err == nil && len(res) < 2 {
		err = errShortReply
	}
	if err != nil {
		return 0, l.f.redisErr(what+" for "+l.tileset, err)
	}
	switch res[0] {
	case 1:
		return res[1], nil
	case -1:
		err = fmt.Errorf("fleet: %s for tileset %s: refused: fencing token %d is older than the current %d (another node took the lease over): %w: %w",
			what, l.tileset, l.token, res[1], ErrFenced, ErrLeaseLost)
	default:
		err = fmt.Errorf("fleet: %s for tileset %s: refused: the lease expired: %w", what, l.tileset, ErrLeaseLost)
	}
	l.lose(err)
	return 0, err
}
