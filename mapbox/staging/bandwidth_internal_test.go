package staging

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
)

const mib = 1 << 20

// utcClock is the real clock (a bubble's, under synctest) in UTC, so that
// a timetable means the same on every machine.
type utcClock struct{ realClock }

func (utcClock) Now() time.Time { return time.Now().UTC() }

func newTestBandwidth(t *testing.T, limit string) *bandwidth {
	t.Helper()
	s, err := bwlimit.Parse(limit)
	if err != nil {
		t.Fatal(err)
	}
	bw := newBandwidth(s, slog.New(slog.DiscardHandler))
	bw.clock = utcClock{}
	return bw
}

// send reads size bytes through a throttled body into io.Discard.
func send(ctx context.Context, bw *bandwidth, size int) error {
	body := &throttledBody{ReadCloser: io.NopCloser(bytes.NewReader(make([]byte, size))), ctx: ctx, bw: bw}
	_, err := io.Copy(io.Discard, body)
	return err
}

// TestBodiesShareTheRate: three bodies read at once share 1 MiB/s: 6 MiB
// take six seconds of the bubble's clock, less the first chunk's burst.
func TestBodiesShareTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bw := newTestBandwidth(t, "1MiB")
		start := time.Now()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if err := send(t.Context(), bw, 2*mib); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		burst := time.Duration(chunkFor(mib)) * time.Second / mib
		if lo, hi := 6*time.Second-burst, 6*time.Second; elapsed < lo || elapsed > hi {
			t.Errorf("6 MiB at 1 MiB/s took %s, want %s to %s", elapsed, lo, hi)
		}
	})
}

// TestTimetableChangesTheRate: the bubble's clock starts on Saturday
// 2000-01-01 at 00:00 UTC; the limit is 1 MiB/s for that minute, then off.
// 100 MiB are sent: 60 in the first minute, the rest at once.
func TestTimetableChangesTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bw := newTestBandwidth(t, "Sat-00:00,1MiB Sat-00:01,off")
		st := &Stager{bw: bw}
		start := time.Now().UTC()
		if start.Weekday() != time.Saturday || start.Hour() != 0 || start.Minute() != 0 {
			t.Fatalf("the bubble starts at %s, not on a Saturday at 00:00", start)
		}
		rate, until := st.BandwidthLimit()
		if rate != mib || !until.Equal(start.Add(time.Minute)) {
			t.Errorf("BandwidthLimit() = %d until %s; want %d until %s", rate, until, mib, start.Add(time.Minute))
		}
		if err := send(t.Context(), bw, 100*mib); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		if lo, hi := time.Minute-time.Second, time.Minute+time.Second; elapsed < lo || elapsed > hi {
			t.Errorf("100 MiB took %s, want about a minute (60 MiB limited, the rest not)", elapsed)
		}
		rate, until = st.BandwidthLimit()
		if want := start.Add(7 * 24 * time.Hour); rate != 0 || !until.Equal(want) {
			t.Errorf("after the minute, BandwidthLimit() = %d until %s; want 0 until %s", rate, until, want)
		}

		// A new limit applies from the next chunk on.
		st.SetBandwidthLimit(mustParse(t, "512KiB"))
		start = time.Now()
		if err := send(t.Context(), bw, mib); err != nil {
			t.Fatal(err)
		}
		if elapsed := time.Since(start); elapsed < 1900*time.Millisecond || elapsed > 2*time.Second {
			t.Errorf("1 MiB at 512 KiB/s took %s, want about 2 s", elapsed)
		}
	})
}

// TestCancelEndsAWait: a cancelled request stops waiting at once, with the
// context's error.
func TestCancelEndsAWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bw := newTestBandwidth(t, "1KiB")
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- send(ctx, bw, mib) }() // 17 minutes at 1 KiB/s
		time.Sleep(10 * time.Second)
		cancel()
		start := time.Now()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("send: %v, want context.Canceled", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("the wait went on %s after the cancel", waited)
		}
	})
}

func TestChunkFor(t *testing.T) {
	for _, tt := range []struct {
		rate int64
		want int
	}{{1 << 10, 1 << 10}, {100 << 10, 10 << 10}, {300 << 10, 30 << 10}, {mib, 64 << 10}, {20 * mib, 64 << 10}, {1 << 40, 64 << 10}} {
		if got := chunkFor(tt.rate); got != tt.want {
			t.Errorf("chunkFor(%d) = %d, want %d", tt.rate, got, tt.want)
		}
	}
}

func mustParse(t *testing.T, s string) bwlimit.Schedule {
	t.Helper()
	sched, err := bwlimit.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}
