package redistest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tilesyncd/tilesyncd/internal/redistest"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestStartKillRestart(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	ctx := ctxFor(t, 30*time.Second)
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(s.Dir(), "redis.conf"))
	if err != nil || !strings.Contains(string(conf), "appendonly yes") || !strings.Contains(string(conf), `save ""`) {
		t.Fatalf("redis.conf = %q, %v", conf, err)
	}

	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Kill() // twice: nothing

	s.Restart(true)
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after a restart with the data: GET k = %q, %v; want v", v, err)
	}

	s.Restart(false)
	if v, err := c.Get(ctx, "k").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("after a restart without the data: GET k = %q, %v; want nil", v, err)
	}
	if !strings.Contains(s.Log(), "Ready to accept connections") {
		t.Errorf("the server's log lacks its ready line:\n%s", s.Log())
	}
}

func TestPassword(t *testing.T) {
	const pw = "pw-7f3a9c1e"
	s := redistest.Start(t, redistest.Options{Password: pw})
	ctx := ctxFor(t, 30*time.Second)
	if err := s.Client().Ping(ctx).Err(); err != nil {
		t.Fatalf("PING with the password: %v", err)
	}
	anon := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("PING without the password: %v, want NOAUTH", err)
	}
	if strings.Contains(s.URL(), pw) {
		t.Errorf("URL %q shows the password", s.URL())
	}
}

func TestProxy(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	p := s.NewProxy()
	ctx := ctxFor(t, 60*time.Second)
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, DialTimeout: time.Second,
		ReadTimeout: 300 * time.Millisecond, DialerRetries: 1})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	t.Run("partition", func(t *testing.T) {
		p.Partition()
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatal("PING answered through a partition")
		}
		p.Heal()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("after Heal: %v", err)
		}
	})

	t.Run("cut", func(t *testing.T) {
		p.Cut() // pooled connections die; the next command's first try fails or redials
		var err error
		for range 2 {
			if err = c.Ping(ctx).Err(); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("after Cut, a new connection: %v", err)
		}
	})

	t.Run("blackhole", func(t *testing.T) {
		p.Blackhole()
		start := time.Now()
		err := c.Ping(ctx).Err()
		if err == nil {
			t.Fatal("PING answered through a blackhole")
		}
		if waited := time.Since(start); waited < 250*time.Millisecond {
			t.Errorf("PING through a blackhole failed after %v (%v): want a read timeout", waited, err)
		}
		p.Heal()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("after Heal: %v", err)
		}
	})

	t.Run("latency", func(t *testing.T) {
		p.SetLatency(60 * time.Millisecond)
		slow := redis.NewClient(&redis.Options{Addr: p.Addr()})
		defer slow.Close()
		start := time.Now()
		if err := slow.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 120*time.Millisecond {
			t.Errorf("a PING through 60 ms each way took %v, want at least 120 ms", took)
		}
		p.SetLatency(0)
	})

	t.Run("restart behind the proxy", func(t *testing.T) {
		s.Restart(true)
		var v string
		var err error
		for range 2 { // the first try may meet a connection the restart closed
			if v, err = c.Get(ctx, "k").Result(); err == nil {
				break
			}
		}
		if err != nil || v != "v" {
			t.Fatalf("GET through the proxy after a restart = %q, %v", v, err)
		}
	})
}
