package chaos

import (
	"context"
	"fmt"
	"github.com/tilesyncd/tilesyncd/internal/testenv"
	"github.com/tilesyncd/tilesyncd/internal/testkit"
	"io"
	"net/http"
	"testing"
	"time"
)

// hold keeps a fault in place for d: the scenario's own clock, not a wait
// for an event.
func hold(d time.Duration) { time.Sleep(d) }

// uploadsAtLeast waits until the server has seen n uploads created.
func (e *env) uploadsAtLeast(n int, timeout time.Duration) {
	e.t.Helper()
	testkit.WaitFor(e.t, fmt.Sprintf("%d uploads", n), timeout, func() bool { return len(e.Srv.Uploads()) >= n })
}

// outage runs the common shape of a network fault: files dropped, some
// uploaded, the fault set for d while more files arrive, the fault cleared,
// everything delivered once.
func outage(t *testing.T, name string, set func(e *env, down bool)) {
	e := newEnv(t, envOptions{})
	n := pick(40, 16)
	e.dropFiles("a", n, 3000)
	p := e.start(inprocOptions{})
	e.uploadsAtLeast(n/4, time.Minute)
	set(e, true)
	e.dropFiles("b", n/2, 3000)
	hold(pick(60*time.Second, 3*time.Second))
	set(e, false)
	e.report(name, e.waitQuiet(2*time.Minute, p.Idle))
}

func TestAPIUnreachable(t *testing.T) {
	outage(t, fmt.Sprintf("api unreachable %v", pick("60s", "3s")), func(e *env, down bool) { e.Srv.SetUnreachable(down) })
}

func TestS3Unreachable(t *testing.T) {
	outage(t, fmt.Sprintf("s3 unreachable %v", pick("60s", "3s")), func(e *env, down bool) { e.proxy.SetCut(down) })
}

// Test429Storm shares the account with a noisy neighbour that spends the
// whole (low) limit, so the daemon meets 429s it could not avoid.
func Test429Storm(t *testing.T) {
	e := newEnv(t, envOptions{rateLimit: 20, rateWindow: 2 * time.Second})
	n := pick(40, 16)
	e.dropFiles("s", n, 2000)
	p := e.start(inprocOptions{})
	e.uploadsAtLeast(2, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), pick(30*time.Second, 4*time.Second))
	defer cancel()
	theirs := neighbour(ctx, e.Srv.URL()+"/uploads/v1/acme?limit=1&access_token="+testenv.Token)
	tally := e.waitQuiet(2*time.Minute, p.Idle)
	ours := e.count429() - <-theirs
	e.report(fmt.Sprintf("429 storm (daemon got %d)", ours), tally)
}

// neighbour sends requests to url every few milliseconds until ctx ends,
// and then sends the number of 429 answers it got.
func neighbour(ctx context.Context, url string) <-chan int {
	out := make(chan int, 1)
	go func() {
		n := 0
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- n
				return
			case <-tick.C:
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				n++
			}
		}
	}()
	return out
}

// count429 counts the server's 429 answers.
func (e *env) count429() int {
	n := 0
	for _, byStatus := range e.Srv.StatusCounts() {
		n += byStatus[http.StatusTooManyRequests]
	}
	return n
}

// dropped counts the requests the server dropped or the client gave up on.
func (e *env) dropped() int {
	n := 0
	for _, byStatus := range e.Srv.StatusCounts() {
		n += byStatus[0]
	}
	return n
}

func TestFivexxThirtyPercent(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.Srv.SetFailureRate(0.3, 503, 30)
	n := pick(60, 20)
	e.dropFiles("x", n, 2000)
	p := e.start(inprocOptions{})
	tally := e.waitQuiet(2*time.Minute, p.Idle)
	e.report("30% of answers 5xx", tally)
}

// TestSlowAnswers delays every answer past the client's response-header
// timeout for a while: requests time out, some after the server acted.
func TestSlowAnswers(t *testing.T) {
	e := newEnv(t, envOptions{})
	n := pick(40, 16)
	e.dropFiles("w", n, 2000)
	p := e.start(inprocOptions{headerTimeout: 500 * time.Millisecond})
	e.uploadsAtLeast(n/4, time.Minute)
	e.Srv.SetDelay(700 * time.Millisecond)
	hold(pick(30*time.Second, 3*time.Second))
	e.Srv.SetDelay(0)
	tally := e.waitQuiet(2*time.Minute, p.Idle)
	e.report(fmt.Sprintf("slow answers (%d timed out)", e.dropped()), tally)
	if e.dropped() == 0 {
		t.Errorf("no request timed out: the scenario did not test what it says")
	}
}
