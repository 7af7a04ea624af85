package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/internal/console"
	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/mapboxsim"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// narrator returns the demo's say: a paragraph "==> …" on w, wrapped at
// width columns, its arguments escaped (a --dir may hold anything).
func narrator(w io.Writer, width int) func(format string, args ...any) {
	return func(format string, args ...any) {
		var b strings.Builder
		b.WriteString("\n")
		for i, row := range console.Wrap(fmt.Sprintf(format, terminal.Args(args...)...), width-4) {
			if i == 0 {
				b.WriteString("==> ")
			} else {
				b.WriteString("    ")
			}
			b.WriteString(row)
			b.WriteString("\n")
		}
		io.WriteString(w, b.String())
	}
}

// width is the terminal's width for the narrative: the display's, else 80.
func (s *logSink) width() int {
	if s.display != nil {
		return s.display.Width()
	}
	return 80
}

// atRate says at what rate staging goes: " (at 4 MiB/s)", or "".
func atRate(rate int64) string {
	if rate <= 0 {
		return ""
	}
	return fmt.Sprintf(" (at %s/s)", humanBytes(rate))
}

// humanBytes is n bytes in whole binary units: "4 MiB", "300 KiB", "12 B".
func humanBytes(n int64) string {
	for _, u := range []struct {
		shift int
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift {
			v := float64(n) / float64(int64(1)<<u.shift)
			if v == float64(int64(v)) || v >= 10 {
				return fmt.Sprintf("%.0f %s", v, u.name)
			}
			return fmt.Sprintf("%.1f %s", v, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// demoCounts are what the demo's summary counts.
type demoCounts struct {
	files, uploaded, unchanged, failed int64
	took                               time.Duration
}

// printDemoSummary ends the demo: what was done, the simulator's record of
// each upload, and the API requests it cost, in 80 columns.
func printDemoSummary(w io.Writer, srv *mapboxsim.Server, c demoCounts) {
	const width = 80
	say := narrator(w, width)
	say("done in %s: %d files, %d uploads, %d skipped as unchanged, %d failed",
		c.took.Round(time.Second), c.files, c.uploaded, c.unchanged, c.failed)
	// One row per upload (Uploads API) and per publish job (MTS).
	type row struct{ tileset, id, size, state string }
	var rows []row
	for _, u := range srv.Uploads() {
		state := "processed"
		switch {
		case u.Error != "":
			state = "failed: " + u.Error
		case !u.Complete:
			state = "processing"
		}
		rows = append(rows, row{u.Tileset, u.ID, humanBytes(u.Size), state})
	}
	for _, j := range srv.MTSJobs() {
		var size int64
		for _, in := range j.Inputs {
			size += in.Size
		}
		state := "published (MTS)"
		if j.Stage != mapbox.JobSuccess {
			state = "MTS job " + string(j.Stage)
		}
		if len(j.Errors) > 0 {
			state += ": " + j.Errors[0]
		}
		rows = append(rows, row{j.Tileset, j.ID, humanBytes(size), state})
	}
	tw := len("tileset")
	for _, r := range rows {
		tw = min(max(tw, len(r.tileset)), 32)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "    %-*s  %-8s  %8s  %s\n", tw, "tileset", "upload", "size", "at Mapbox")
	for _, r := range rows {
		line := fmt.Sprintf("    %-*s  %-8.8s  %8s  %s", tw, r.tileset, r.id, r.size, r.state)
		b.WriteString(console.Truncate(terminal.Escape(line), width) + "\n")
	}
	counts := srv.Counts()
	var parts []string
	total := 0
	for ep, n := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", ep, n))
		total += n
	}
	sort.Strings(parts)
	for _, row := range console.Wrap(fmt.Sprintf("%d API requests: %s", total, strings.Join(parts, ", ")), width-4) {
		b.WriteString("    " + row + "\n")
	}
	io.WriteString(w, b.String())
	say("next: copy config.example.yaml, set mapbox.username and MAPBOX_ACCESS_TOKEN, and run 'tilesyncd run --config FILE'.")
}
