package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/tilesyncd/tilesyncd/state"
)

// result is the end of one attempt.
type result struct {
	err        error         // nil: delivered
	permanent  bool          // the endpoint refused the message itself: drop it
	retryAfter time.Duration // the endpoint's Retry-After, if any
}

// deliver sends t's messages until ctx is cancelled (nil) or the outbox is
// closed (its error). One batch of at most Concurrency messages is in
// flight at a time; after a batch with a failure, t waits a backoff.
func (n *Notifier) deliver(ctx context.Context, t *target) error {
	failures := 0 // in a row
	for {
		batch, err := n.outbox.OutboxPending(t.key, n.concurrent)
		if errors.Is(err, state.ErrClosed) {
			return fmt.Errorf("notify %s: %w", t.URL, err)
		}
		if err != nil {
			failures++
			n.log.Error("cannot read the notification outbox", "url", t.URL, "err", err)
			if !sleep(ctx, n.backoff(failures)) {
				return nil
			}
			continue
		}
		if len(batch) == 0 {
			select {
			case <-t.wake:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		results := n.sendAll(ctx, t, batch)
		failed, retryAfter, err := n.settle(ctx, t, batch, results)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil // what was not answered stays in the outbox
		}
		if failed == nil {
			if failures > 0 {
				n.log.Info("notifications delivered again", "url", t.URL, "after_failures", failures)
			}
			failures = 0
			continue
		}
		failures++
		wait := max(n.backoff(failures), min(retryAfter, n.maxBackoff))
		n.log.Warn("notification not delivered; will retry", "url", t.URL, "attempt", failures,
			"retry_in", wait.Round(time.Millisecond).String(), "err", failed.Error())
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// sendAll sends the batch at once and returns each message's result.
func (n *Notifier) sendAll(ctx context.Context, t *target, batch []state.OutboxEntry) []result {
	results := make([]result, len(batch))
	var wg sync.WaitGroup
	for i, e := range batch {
		wg.Go(func() { results[i] = n.send(ctx, t, e) })
	}
	wg.Wait()
	return results
}

// settle records the results in the outbox: delivered and refused
// messages leave it, failed ones count an attempt (but for those cut short
// by ctx's end). It returns the first failure (nil: none) and the longest
// Retry-After, or the outbox's error when it is closed.
func (n *Notifier) settle(ctx context.Context, t *target, batch []state.OutboxEntry, results []result) (failed error, retryAfter time.Duration, err error) {
	for i, r := range results {
		e := batch[i]
		switch {
		case r.err == nil:
			err = n.outbox.OutboxDelete(t.key, e.Seq)
			n.log.Debug("notification delivered", "url", t.URL, "seq", e.Seq, "attempts", e.Attempts+1)
		case r.permanent:
			n.log.Error("notification refused by the endpoint; dropped", "url", t.URL, "seq", e.Seq, "err", r.err.Error())
			err = n.outbox.OutboxDelete(t.key, e.Seq)
		case ctx.Err() != nil:
			continue // not a failure of the endpoint's
		default:
			err = n.outbox.OutboxFailed(t.key, e.Seq, r.err.Error())
			retryAfter = max(retryAfter, r.retryAfter)
			if failed == nil {
				failed = r.err
			}
		}
		if errors.Is(err, state.ErrClosed) {
			return nil, 0, fmt.Errorf("notify %s: %w", t.URL, err)
		}
		if err != nil {
			n.log.Error("cannot update the notification outbox", "url", t.URL, "seq", e.Seq, "err", err)
		}
	}
	return failed, retryAfter, nil
}

// send makes one attempt to deliver e to t. Its errors never show the
// URL's credentials.
func (n *Notifier) send(ctx context.Context, t *target, e state.OutboxEntry) result {
	var p Payload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return result{err: fmt.Errorf("message %d does not decode: %w", e.Seq, err), permanent: true}
	}
	body, err := t.Format.body(p)
	if err != nil {
		return result{err: fmt.Errorf("message %d: %w", e.Seq, err), permanent: true}
	}
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL.Reveal(), bytes.NewReader(body))
	if err != nil {
		return result{err: fmt.Errorf("post %s: %s", t.URL, t.URL.Redact(err.Error())), permanent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tilesyncd")
	req.Header.Set("Idempotency-Key", p.ID)
	req.Header.Set("X-Tilesyncd-Event", string(p.Event))
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it quotes the URL: name it redacted instead
		}
		return result{err: fmt.Errorf("post %s: %s", t.URL, t.URL.Redact(err.Error()))}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode/100 == 2 {
		return result{}
	}
	msg := fmt.Sprintf("post %s: %s", t.URL, resp.Status)
	if len(bytes.TrimSpace(answer)) > 0 {
		msg += ": " + string(bytes.TrimSpace(answer))
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		if u, err := url.Parse(loc); err == nil {
			msg += fmt.Sprintf(" (redirected to %s://%s/…: configure that URL)", u.Scheme, u.Host)
		}
	}
	r := result{err: errors.New(t.URL.Redact(msg))}
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		r.permanent = true
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		r.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), n.clock.Now())
	}
	return r
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// backoff is the wait after the k-th failure in a row: MinBackoff doubled
// k-1 times, at most MaxBackoff, of which a random half ("equal jitter":
// never less than half, so that endpoints recovering together are not
// all retried at once).
func (n *Notifier) backoff(k int) time.Duration {
	d := n.minBackoff
	for i := 1; i < k && d < n.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, n.maxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d, or until ctx is done: it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
