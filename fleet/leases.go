package fleet

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// LeaseInfo is one lease held now, as Redis records it.
type LeaseInfo struct {
	Tileset string
	// Node holds it; Token is its fencing token.
	Node  string
	Token int64
	// Held is how long ago the node took it, Expires how long it lasts
	// unless renewed; both measured by Redis.
	Held, Expires time.Duration
}

// Leases lists the leases held now in the fleet (at most limit of them,
// and truncated reports whether there were more), by tileset: for status.
// It walks the group's lock keys with SCAN, so it never blocks Redis.
func (f *Fleet) Leases(ctx context.Context, limit int) (leases []LeaseInfo, truncated bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*f.opts.Timeout)
	defer cancel()
	prefix := f.keys.lease("")
	var keys []string
	var cursor uint64
	for {
		batch, next, err := f.rdb.Scan(ctx, cursor, prefix+"*", 200).Result()
		if err != nil {
			return nil, false, f.redisErr("list the leases", err)
		}
		keys = append(keys, batch...)
		if cursor = next; cursor == 0 || len(keys) > limit {
			break
		}
	}
	sort.Strings(keys)
	if len(keys) > limit {
		keys, truncated = keys[:limit], true
	}
	if len(keys) == 0 {
		return nil, false, nil
	}
	var now *redis.TimeCmd
	ttls := make([]*redis.DurationCmd, len(keys))
	infos := make([]*redis.SliceCmd, len(keys))
	_, err = f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		now = p.Time(ctx)
		for i, k := range keys {
			ts := strings.TrimPrefix(k, prefix)
			ttls[i] = p.PTTL(ctx, k)
			infos[i] = p.HMGet(ctx, f.keys.leaseInfo(ts), "node", "token", "since")
		}
		return nil
	})
	if err != nil {
		return nil, false, f.redisErr("list the leases", err)
	}
	nowMS := now.Val().UnixMilli()
	for i, k := range keys {
		ttl := ttls[i].Val()
		if ttl <= 0 { // expired since the scan
			continue
		}
		l := LeaseInfo{Tileset: strings.TrimPrefix(k, prefix), Expires: ttl}
		if v := infos[i].Val(); len(v) == 3 {
			l.Node, _ = v[0].(string)
			l.Token = toInt64(v[1])
			if since := toInt64(v[2]); since > 0 {
				l.Held = ms(nowMS - since)
			}
		}
		leases = append(leases, l)
	}
	return leases, truncated, nil
}
