package console

import (
	"context"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
)

// Transfer is one file being staged, as its bar shows it.
type Transfer struct {
	ID          uint64 // the job's: one bar per ID
	File        string // the file's path below its watch folder (escaped when shown)
	Sent, Total int64  // bytes
}

// DisplayOptions configure a Display. The zero value redraws every 200 ms.
type DisplayOptions struct {
	// Interval between two reads of the transfers (and redraws); 0: 200 ms.
	Interval time.Duration
	// Width of an output whose size cannot be read; 0: 80.
	Width int

	console mpb.ConsoleWriter // tests: a console of their own
	now     func() time.Time  // tests: the clock rates are measured by; nil: time.Now
}

// Display owns a terminal while Run runs: a bar per staging in flight,
// and what is written to it printed above the bars. Write and Width may be
// called from any goroutine, before, during and after Run.
type Display struct {
	out  io.Writer
	opts DisplayOptions

	mu     sync.RWMutex  // Write holds it shared; Run takes it to start and stop
	p      *mpb.Progress // while Run runs
	source func() []Transfer
}

// NewDisplay returns a Display on out, a terminal (see IsTerminal).
func NewDisplay(out io.Writer, opts DisplayOptions) *Display {
	if opts.Interval <= 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	return &Display{out: out, opts: opts}
}

// SetSource sets where the transfers come from: Run calls fn from its own
// goroutine at each redraw, never twice at once. A nil fn shows no bars.
func (d *Display) SetSource(fn func() []Transfer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.source = fn
}

// Write prints p, which should hold whole lines, above the bars while Run
// runs (at the next redraw, within Interval), and directly otherwise. It
// starts at the row's first column: over a "^C" the terminal echoed, say,
// which would otherwise push the line past the terminal's width.
func (d *Display) Write(p []byte) (int, error) {
	b := make([]byte, 0, len(p)+1)
	b = append(append(b, '\r'), p...)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.p != nil {
		if _, err := d.p.Write(b); err == nil {
			return len(p), nil
		}
		// The container stopped (the terminal went away): print directly.
	}
	if _, err := d.out.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Width is the output's width in columns: the terminal's, else the
// option's, else 80.
func (d *Display) Width() int {
	if f, ok := d.out.(*os.File); ok {
		if w := Width(f); w > 0 {
			return w
		}
	}
	if d.opts.Width > 0 {
		return d.opts.Width
	}
	return defaultWidth
}

// Run draws the bars until ctx ends. It then removes them, prints what was
// written to the Display meanwhile, and returns; from then on, writes go
// to the output directly. Call it once.
func (d *Display) Run(ctx context.Context) {
	refresh := make(chan any)
	shut := make(chan any)
	opts := []mpb.ContainerOption{mpb.WithOutput(d.out), mpb.WithManualRefresh(refresh), mpb.WithShutdownNotifier(shut)}
	if d.opts.console != nil {
		opts = append(opts, mpb.WithConsoleWriter(d.opts.console))
	}
	p := mpb.New(opts...)
	d.mu.Lock()
	d.p = p
	d.mu.Unlock()

	redraw := func() {
		select {
		case refresh <- time.Now():
		case <-shut: // the container stopped on an error of its own
		}
	}
	bars := map[uint64]*bar{}
	tick := time.NewTicker(d.opts.Interval)
	defer tick.Stop()
	for {
		d.update(p, bars, d.opts.now())
		redraw()
		select {
		case <-ctx.Done():
			d.mu.Lock()
			defer d.mu.Unlock()
			for _, b := range bars {
				b.remove()
			}
			redraw() // prints what was written, draws the removed bars a last time
			p.Shutdown()
			d.p = nil
			return
		case <-tick.C:
		}
	}
}

// update reads the transfers and brings the bars in line with them: a new
// bar for a staging not seen before (unless it is done already), progress
// for the others, and away with the bars of stagings no longer in flight.
func (d *Display) update(p *mpb.Progress, bars map[uint64]*bar, now time.Time) {
	d.mu.RLock()
	source := d.source
	d.mu.RUnlock()
	var ts []Transfer
	if source != nil {
		ts = source()
	}
	seen := make(map[uint64]bool, len(ts))
	for _, t := range ts {
		seen[t.ID] = true
		b, ok := bars[t.ID]
		if !ok {
			b = newBar(p, t, now)
			bars[t.ID] = b
		}
		b.update(t, now)
	}
	for id, b := range bars {
		if !seen[id] {
			b.remove()
			delete(bars, id)
		}
	}
}
