package staging_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/bwlimit"
	"github.com/tilesyncd/tilesyncd/internal/miniotest"
	"github.com/tilesyncd/tilesyncd/mapbox/staging"
)

// stepClock is a clock that never sleeps: waiting until t moves it to t (if
// later). Staging under it runs at full speed while the clock reads the
// time the limit made it take, whatever the machine's speed: the last
// grant of the limiter is at start + (bytes − burst) / rate, and a wait
// ends at its grant.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

func limitOf(t testing.TB, s string) bwlimit.Schedule {
	t.Helper()
	sched, err := bwlimit.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

// TestBandwidthCapPacesStaging stages two files at once (two multipart
// uploads, two parts in flight each) to MinIO under a 1 MiB/s cap, on a
// step clock: the clock ends where the cap makes it, and at every progress
// report the bytes on the wire are within 3 % and two chunks of the cap's
// line (the bucket starts full, and the step clock, moved by each waiter in
// turn, lets concurrent waiters run a little ahead of it on a loaded machine;
// the real-time figure is make bench's figure 10).
func TestBandwidthCapPacesStaging(t *testing.T) {
	s := miniotest.Shared(t)
	const rate = mib
	opts := testOptions(s)
	opts.BandwidthLimit = limitOf(t, "1MiB")
	st, _ := newStager(t, opts)
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clk := &stepClock{now: start}
	staging.SetClock(st, clk)

	sizes := []int{12*mib + 1, 7 * mib}
	var (
		sent  [2]atomic.Int64
		worst atomic.Int64 // the most bytes seen beyond the cap's line
		wg    sync.WaitGroup
	)
	for i, size := range sizes {
		path, data := writeFile(t, size)
		k := key(t) + "-" + string(rune('a'+i))
		wg.Go(func() {
			_, err := st.Stage(context.Background(), s.Credentials(t, k), path, nil, staging.Hooks{
				OnProgress: func(n, _ int64) {
					sent[i].Store(n)
					allowed := int64(clk.Now().Sub(start).Seconds()*rate*1.03) + 2*64<<10
					if over := sent[0].Load() + sent[1].Load() - allowed; over > worst.Load() {
						worst.Store(over)
					}
				},
			})
			if err != nil {
				t.Error(err)
				return
			}
			checkObject(t, s, k, data)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := int64(sizes[0] + sizes[1])
	elapsed := clk.Now().Sub(start)
	// Below: the bodies at 3 % above the rate, less two chunks (see above).
	// Above: the bodies, and the small XML of the completions.
	lo := time.Duration(float64(total-2*64<<10) / (rate * 1.03) * float64(time.Second))
	hi := time.Duration(float64(total+64<<10) / rate * float64(time.Second))
	t.Logf("%d bytes took %s on the clock (%.4f MiB/s)", total, elapsed, float64(total)/mib/elapsed.Seconds())
	if elapsed < lo || elapsed > hi {
		t.Errorf("%d bytes at 1 MiB/s took %s on the clock, want %s to %s", total, elapsed, lo, hi)
	}
	if w := worst.Load(); w > 0 {
		t.Errorf("at one progress report %d bytes had been sent beyond the cap's line", w)
	}
	if r, until := st.BandwidthLimit(); r != rate || !until.IsZero() {
		t.Errorf("BandwidthLimit() = %d until %s, want %d for ever", r, until, rate)
	}
}

// TestBandwidthTimetableDuringStaging: a staging that starts a second
// before the limit ends goes on at full speed from then on, and
// BandwidthLimit tells what is in force and until when.
func TestBandwidthTimetableDuringStaging(t *testing.T) {
	s := miniotest.Shared(t)
	opts := testOptions(s)
	opts.BandwidthLimit = limitOf(t, "Mon-08:00,1MiB 18:00,off")
	st, _ := newStager(t, opts)
	start := time.Date(2026, 11, 30, 17, 59, 59, 0, time.UTC) // a Monday
	clk := &stepClock{now: start}
	staging.SetClock(st, clk)

	if r, until := st.BandwidthLimit(); r != mib || !until.Equal(start.Add(time.Second)) {
		t.Errorf("BandwidthLimit() = %d until %s; want 1 MiB/s until 18:00", r, until)
	}
	path, data := writeFile(t, 11*mib)
	if _, err := st.Stage(context.Background(), s.Credentials(t, key(t)), path, nil, staging.Hooks{}); err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, key(t), data)
	// About 1 MiB went at 1 MiB/s until 18:00, the other 10 MiB at once.
	// Each part in flight may have reserved a chunk beyond 18:00 (2 × 64
	// KiB at 1 MiB/s: 125 ms).
	if end := clk.Now(); end.Before(start.Add(900*time.Millisecond)) || end.After(start.Add(1250*time.Millisecond)) {
		t.Errorf("the clock ended at %s, want about 18:00:00", end.Format("15:04:05.000"))
	}
	nextMonday := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	if r, until := st.BandwidthLimit(); r != 0 || !until.Equal(nextMonday) {
		t.Errorf("BandwidthLimit() after 18:00 = %d until %s; want off until %s", r, until, nextMonday)
	}
}
