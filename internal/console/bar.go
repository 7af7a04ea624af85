package console

import (
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/tilesyncd/tilesyncd/terminal"
)

// rateWindow is how far back the rate (and so the time left) looks.
const rateWindow = 5 * time.Second

// bar is one staging's bar. Its fields other than mb are the Display
// goroutine's; mu guards what the decorators (mpb's goroutines) read.
type bar struct {
	mb      *mpb.Bar // nil when the staging was done when first seen
	samples []sample // bytes sent over the last rateWindow, oldest first
	done    bool

	mu   sync.Mutex
	rate float64 // bytes per second; 0 while unknown
}

type sample struct {
	at   time.Time
	sent int64
}

// newBar adds t's bar to p, or a bar without one when its staging is
// already done (a small file, staged between two reads).
func newBar(p *mpb.Progress, t Transfer, now time.Time) *bar {
	b := &bar{}
	if t.Total <= 0 || t.Sent >= t.Total {
		b.done = true
		return b
	}
	name := terminal.Escape(t.File)
	b.mb = p.AddBar(t.Total,
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Any(func(s decor.Statistics) string {
			w := max(s.AvailableWidth*35/100, 16)
			return padRight(" "+truncMiddle(name, w-1), w)
		})),
		mpb.AppendDecorators(decor.Any(b.stats, decor.WCSyncWidthR)),
	)
	b.samples = []sample{{now, t.Sent}}
	return b
}

// stats is the bar's right side: "12 MiB/24 MiB  3.9 MiB/s  3s left"; the
// rate once known, the time left while under 100 hours.
func (b *bar) stats(s decor.Statistics) string {
	b.mu.Lock()
	r := b.rate
	b.mu.Unlock()
	text := size(s.Current) + "/" + size(s.Total)
	if r <= 0 {
		return text
	}
	text += "  " + rate(r)
	if left := time.Duration(float64(s.Total-s.Current) / r * float64(time.Second)); left < 100*time.Hour {
		text += "  " + duration((left + time.Second - 1).Truncate(time.Second)) + " left" // 0.4 s is "1s left"
	}
	return text
}

// update takes the staging's bytes sent now.
func (b *bar) update(t Transfer, now time.Time) {
	if b.done {
		return
	}
	b.samples = append(b.samples, sample{now, t.Sent})
	for len(b.samples) > 2 && now.Sub(b.samples[1].at) >= rateWindow {
		b.samples = b.samples[1:]
	}
	first := b.samples[0]
	if span := now.Sub(first.at); span >= 500*time.Millisecond && t.Sent >= first.sent {
		b.mu.Lock()
		b.rate = float64(t.Sent-first.sent) / span.Seconds()
		b.mu.Unlock()
	}
	if t.Sent >= t.Total {
		b.mb.SetTotal(t.Total, true) // complete: the bar goes
		b.done = true
		return
	}
	b.mb.SetTotal(t.Total, false)
	b.mb.SetCurrent(t.Sent)
}

// remove takes the bar away, done or not.
func (b *bar) remove() {
	if b.mb != nil && !b.done {
		b.mb.Abort(true)
	}
	b.done = true
}
