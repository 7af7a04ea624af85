package console

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeTerm is a terminal for mpb (its ConsoleWriter): what is flushed is
// played on a screen that knows what mpb and the Display write (text,
// newline, carriage return, cursor up N rows, erase below), and the
// screen is kept after each flush.
type fakeTerm struct {
	bytes.Buffer // the frame being written (mpb's goroutine only)
	width        int

	mu       sync.Mutex
	rows     [][]rune
	row, col int
	frames   []string
}

func (c *fakeTerm) IsTerminal() bool               { return true }
func (c *fakeTerm) GetTermSize() (int, int, error) { return c.width, 40, nil }

// allFrames are the screens after each flush so far.
func (c *fakeTerm) allFrames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.frames...)
}

// lastFrame is the screen now.
func (c *fakeTerm) lastFrame() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.screen()
}

func (c *fakeTerm) screen() string {
	rows := make([]string, len(c.rows))
	for i, r := range c.rows {
		rows[i] = string(r)
	}
	return strings.Join(rows, "\n")
}

var escape = regexp.MustCompile(`^\x1b\[(\d*)([AJ])`)

// Flush plays the frame on the screen, then queues what mpb asks for: the
// cursor back up over the bars' rows, to overwrite them next time.
func (c *fakeTerm) Flush(lines int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rows) == 0 {
		c.rows = [][]rune{nil}
	}
	for s := c.Buffer.String(); s != ""; {
		if m := escape.FindStringSubmatch(s); m != nil {
			if m[2] == "A" {
				var n int
				fmt.Sscan(m[1], &n)
				c.row = max(c.row-n, 0)
			} else { // erase from the cursor to the end of the screen
				c.rows = append(c.rows[:c.row], c.rows[c.row][:min(c.col, len(c.rows[c.row]))])
			}
			s = s[len(m[0]):]
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch r {
		case '\n': // a tty's newline: the next row's first column
			c.row, c.col = c.row+1, 0
			if c.row == len(c.rows) {
				c.rows = append(c.rows, nil)
			}
		case '\r':
			c.col = 0
		default:
			line := c.rows[c.row]
			if c.col < len(line) {
				line[c.col] = r
			} else {
				line = append(line, r)
			}
			c.rows[c.row], c.col = line, c.col+1
		}
	}
	c.Buffer.Reset()
	c.frames = append(c.frames, c.screen())
	if lines > 0 {
		fmt.Fprintf(&c.Buffer, "\x1b[%dA\x1b[J", lines)
	}
	return nil
}

// waitFor waits until cond holds, polling, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		<-tick.C
	}
}

// anyFrame reports whether a screen so far matched every pattern.
func anyFrame(term *fakeTerm, res ...*regexp.Regexp) bool {
	for _, f := range term.allFrames() {
		all := true
		for _, re := range res {
			all = all && re.MatchString(f)
		}
		if all {
			return true
		}
	}
	return false
}

// The display draws a bar per staging with its bytes, rate and time left,
// prints what is written above the bars, takes a bar away when its
// staging ends, and leaves only the printed lines when it stops.
func TestDisplay(t *testing.T) {
	term := &fakeTerm{width: 80}
	var direct bytes.Buffer
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	ts := []Transfer{
		{ID: 1, File: "surveys/2024/contours-north-district.geojson", Total: 240 << 20},
		{ID: 2, File: "roads.geojson", Total: 80 << 20},
		{ID: 3, File: "small.csv", Sent: 90, Total: 90}, // done before it was seen: no bar
	}
	d := NewDisplay(&direct, DisplayOptions{Interval: 5 * time.Millisecond, console: term,
		now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	d.SetSource(func() []Transfer {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(250 * time.Millisecond) // 1 MiB a quarter second: 4 MiB/s
		for i := range ts {
			if hold := ts[i].Total * 3 / 4; ts[i].Sent < hold {
				ts[i].Sent = min(ts[i].Sent+1<<20, hold) // and there it stays
			}
		}
		return append([]Transfer(nil), ts...)
	})
	fmt.Fprintf(d, "before the display\n")
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { d.Run(ctx); close(ran) }()
	defer func() {
		if t.Failed() {
			t.Logf("the screen:\n%s", term.lastFrame())
		}
	}()

	bar1 := regexp.MustCompile(`(?m)^ surveys/…\S+-district\.geojson +\[[=>-]+\] +\d+(\.\d)? MiB/240 MiB  4\.0 MiB/s  \d+s left *$`)
	bar2 := regexp.MustCompile(`(?m)^ roads\.geojson +\[[=>-]+\] +\d+(\.\d)? MiB/80 MiB  4\.0 MiB/s  \d+s left *$`)
	waitFor(t, "both bars, with a rate and the time left", func() bool { return anyFrame(term, bar1, bar2) })
	const line1 = "14:00:00 queued    roads.geojson → demo.roads  80 MiB"
	fmt.Fprintln(d, line1)
	anyBar := regexp.MustCompile(`(?m)^ (surveys|roads).*\[`)
	waitFor(t, "the line above the bars", func() bool {
		f := term.lastFrame()
		bar := anyBar.FindStringIndex(f)
		return strings.HasPrefix(f, line1+"\n") && bar != nil
	})
	mu.Lock()
	ts[1].Sent = ts[1].Total // roads.geojson staged
	mu.Unlock()
	roads := regexp.MustCompile(`(?m)^ roads`)
	waitFor(t, "the staged file's bar to go", func() bool { f := term.lastFrame(); return anyBar.MatchString(f) && !roads.MatchString(f) })
	mu.Lock()
	ts = nil // no staging in flight
	mu.Unlock()
	const line2 = "14:00:09 staged    roads.geojson → demo.roads  80 MiB"
	fmt.Fprintln(d, line2)
	waitFor(t, "the line, and no bars", func() bool { f := term.lastFrame(); return strings.Contains(f, line2) && !anyBar.MatchString(f) })
	stop()
	<-ran
	fmt.Fprintf(d, "after the display\n")

	if want := line1 + "\n" + line2 + "\n"; term.lastFrame() != want {
		t.Errorf("the screen once the display stopped:\n%q\nwant:\n%q", term.lastFrame(), want)
	}
	if want := "\rbefore the display\n\rafter the display\n"; direct.String() != want {
		t.Errorf("written directly: %q, want %q", direct.String(), want)
	}
	for _, f := range term.allFrames() {
		if strings.Contains(f, "small.csv") {
			t.Errorf("a bar for a staging done before it was seen:\n%s", f)
		}
		for _, row := range strings.Split(f, "\n") {
			if width(row) > 80 {
				t.Errorf("a row of %d columns: %q", width(row), row)
			}
		}
	}
}

// Stopped (on a Ctrl-C the terminal echoed) while bars are drawn, the
// display takes them away and prints what was written meanwhile, over the
// echo.
func TestDisplayStopsWithBars(t *testing.T) {
	term := &fakeTerm{width: 60}
	d := NewDisplay(&bytes.Buffer{}, DisplayOptions{Interval: 5 * time.Millisecond, console: term})
	d.SetSource(func() []Transfer { return []Transfer{{ID: 1, File: "big.mbtiles", Sent: 1 << 20, Total: 1 << 30}} })
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { d.Run(ctx); close(ran) }()
	waitFor(t, "the bar", func() bool { return strings.Contains(term.lastFrame(), " big.mbtiles") })
	term.mu.Lock()
	term.rows[term.row], term.col = []rune("^C"), 2 // the terminal echoed a Ctrl-C
	term.mu.Unlock()
	fmt.Fprintln(d, "last words")
	stop()
	<-ran
	if f := term.lastFrame(); f != "last words\n" {
		t.Errorf("the screen once stopped: %q, want only the line", f)
	}
}
