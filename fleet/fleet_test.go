package fleet

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/mapbox"
)

func TestOpenNodesInfo(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 30*time.Second)
	a, b := h.open("a"), h.open("b")
	c := h.open("c")

	nodes, err := a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
		if n.Seen < 0 || n.Seen > time.Second || n.Expires <= 0 || n.Expires > 600*time.Millisecond {
			t.Errorf("node %s: seen %v ago, expires in %v", n.Name, n.Seen, n.Expires)
		}
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("Nodes = %v, want a b c", names)
	}

	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.RedisVersion, "7.") || len(info.Nodes) != 3 || info.Limit != 0 || info.Held != 0 || info.URL != h.srv.URL() {
		t.Errorf("Info = %+v", info)
	}

	// A limit learned by one node is the fleet's.
	budget := a.Budget(30, defaultBudgetOptions())
	budget.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointList, Status: 200, RateLimit: mapbox.RateLimit{Limit: 60, Interval: time.Minute}})
	waitFor(t, "the learned limit in Redis", 10*time.Second, func() bool {
		info, err = c.Info(ctx)
		return err == nil && info.Limit == 60
	})
	if info.Window != time.Minute || info.LimitFrom != "a" {
		t.Errorf("shared limit = %d per %v from %q, want 60 per 1m from a", info.Limit, info.Window, info.LimitFrom)
	}

	c.Close()
	nodes, err = a.Nodes(ctx)
	if err != nil || len(nodes) != 2 {
		t.Errorf("after c closed: Nodes = %+v, %v", nodes, err)
	}
	waitFor(t, "a heartbeat counting 2 nodes", 10*time.Second, func() bool { return a.nodesAlive() == 2 })
}

// TestOpenErrorsHideThePassword: a configuration error, or a Redis that
// answers and refuses this node, fails Open with an error naming the URL
// without the password. (A Redis that does not answer does not fail Open:
// TestOpenWhileRedisDown.)
func TestOpenErrorsHideThePassword(t *testing.T) {
	h := newHarness(t)
	ctx := ctxFor(t, 30*time.Second)
	url := h.srv.URL()
	tests := []struct {
		name string
		opts func(*Options)
		want string
	}{
		// Redis answers and refuses: a configuration error, not an outage.
		{"wrong password", func(o *Options) { o.Password = "not-" + testPassword }, "refused this node"},
		{"no password", func(o *Options) { o.Password = "" }, "refused this node"},
		{"no such database", func(o *Options) { o.URL = strings.TrimSuffix(url, "/0") + "/99" }, "refused this node"},
		{"password in the URL", func(o *Options) { o.URL = strings.Replace(url, "redis://", "redis://:"+testPassword+"@", 1) },
			"carries a password"},
		{"user and password in the URL", func(o *Options) {
			o.URL = strings.Replace(url, "redis://", "redis://default:"+testPassword+"@", 1)
		}, "carries a password"},
		{"unparsable URL", func(o *Options) { o.URL = "redis://:" + testPassword + "@[::1" }, "does not parse"},
		{"scheme", func(o *Options) { o.URL = "http://127.0.0.1:1/0" }, "not a redis:// or rediss:// URL"},
		{"node name", func(o *Options) { o.Node = "a b" }, `node "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := h.options(url, "n")
			tt.opts(&opts)
			f, err := Open(ctx, opts)
			if err == nil {
				f.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	opts := h.options(url, "n")
	for _, s := range []string{fmt.Sprint(opts), fmt.Sprintf("%+v", opts), fmt.Sprintf("%#v", opts)} {
		if strings.Contains(s, testPassword) {
			t.Errorf("Options print the password: %s", s)
		}
	}
}

// TestRedisHoldsNothingSecret runs a little of everything, then reads every
// key in Redis: none holds the password or the token, and every key is under
// the group's prefix (doc.go's layout).
func TestRedisHoldsNothingSecret(t *testing.T) {
	const token = "sk.eyJ1IjoiYWNtZSJ9.fleet-test-TOKEN"
	h := newHarness(t)
	ctx := ctxFor(t, 30*time.Second)
	a := h.open("a")
	b := a.Budget(6000, defaultBudgetOptions())
	err429 := answerError(t, 429, map[string]string{"Retry-After": "1", "X-Rate-Limit-Limit": "6000", "X-Rate-Limit-Interval": "60"})
	b.Observe(mapbox.Exchange{Endpoint: mapbox.EndpointCreate, Status: 429, Err: err429, RateLimit: mapbox.RateLimit{Limit: 6000, Interval: time.Minute}})
	waitN(t, b, mapbox.EndpointCreate, 10*time.Second)
	l, err := a.Acquire(ctx, "acme.roads")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetIntent(ctx, "sha256:abc", "https://tilesets-staging.s3.amazonaws.com/acme/key1"); err != nil {
		t.Fatal(err)
	}
	if err := l.SetIntent(ctx, "sha256:abc", "https://x.s3.amazonaws.com/k?X-Amz-Signature=s&access_token="+token); err == nil {
		t.Error("SetIntent took a URL with a query")
	}
	if err := l.RecordHeld(ctx, "sha256:abc", "upload-1"); err != nil {
		t.Fatal(err)
	}

	rdb := h.srv.Client()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !strings.HasPrefix(k, "tilesyncd:{acme}:") && !strings.HasPrefix(k, "rate:tilesyncd:{acme}:") {
			t.Errorf("key %q outside the group's prefix", k)
		}
		dump, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			continue // expired meanwhile
		}
		if strings.Contains(dump, testPassword) || strings.Contains(dump, token) {
			t.Errorf("key %q holds a secret", k)
		}
	}
	t.Logf("keys: %q", keys)
}
