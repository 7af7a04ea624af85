package console

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// line is one event laid out for a terminal: "15:04:05 verb      subject
// facts  detail". Every string in it is already escaped.
type line struct {
	time string // "15:04:05"
	verb string
	// file → tileset is the subject; either may be empty. other, when set,
	// is the subject instead (a folder, the account).
	file, tileset, other string
	facts                []string // short, kept whole: a size, an upload ID
	detail               string   // a message or reason: on the line if it fits, else below it
}

// Layout constants: the verb column's width, the least a name is shortened
// to before the other name is, and the most lines a detail takes.
const (
	verbWidth   = 9
	minName     = 12
	detailLines = 3
	minWidth    = 30 // narrower terminals are taken as this wide
)

// render lays the line out in at most w columns: one row, or more when the
// detail does not fit beside the rest. No row is wider than w.
func (l line) render(w int) []string {
	w = max(w, minWidth)
	prefix := l.time + " " + padRight(l.verb, verbWidth) + " "
	indent := strings.Repeat(" ", width(prefix))
	if w < 2*width(prefix) {
		indent = "  "
	}
	facts := strings.Join(l.facts, "  ")
	room := w - width(prefix)
	if facts != "" {
		room -= width(facts) + 2
	}
	head := prefix + l.subject(room)
	if facts != "" {
		head = strings.TrimRight(head, " ") + "  " + facts
	}
	head = truncEnd(head, w)
	if l.detail == "" {
		return []string{head}
	}
	if l.subjectEmpty() && facts == "" {
		// The detail is the line: it starts beside the verb.
		rows := wrap(l.detail, w-width(prefix), w-width(indent))
		rows[0] = prefix + rows[0]
		for i := 1; i < len(rows); i++ {
			rows[i] = indent + rows[i]
		}
		return rows
	}
	if width(head)+2+width(l.detail) <= w {
		return []string{head + "  " + l.detail}
	}
	rows := []string{head}
	for _, r := range wrap(l.detail, w-width(indent), w-width(indent)) {
		rows = append(rows, indent+r)
	}
	return rows
}

func (l line) subjectEmpty() bool { return l.file == "" && l.tileset == "" && l.other == "" }

// subject is "file → tileset" (or other) in at most room columns: the file
// is shortened in the middle first, down to minName columns, then the
// tileset; past that both share what room there is.
func (l line) subject(room int) string {
	if l.other != "" {
		return truncMiddle(l.other, room)
	}
	if l.file == "" || l.tileset == "" {
		return truncMiddle(l.file+l.tileset, room)
	}
	const arrow = " → "
	fw, tw := width(l.file), width(l.tileset)
	if over := fw + width(arrow) + tw - room; over > 0 {
		cut := min(over, max(fw-minName, 0))
		fw, over = fw-cut, over-cut
		cut = min(over, max(tw-minName, 0))
		tw, over = tw-cut, over-cut
		if over > 0 {
			both := max(room-width(arrow), 0)
			fw, tw = both/2, both-both/2
		}
	}
	return truncMiddle(l.file, fw) + arrow + truncMiddle(l.tileset, tw)
}

// width is how many columns s takes on a terminal.
func width(s string) int { return runewidth.StringWidth(s) }

// padRight pads s with spaces to w columns.
func padRight(s string, w int) string {
	if n := w - width(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// Truncate shortens s to at most w columns, ending it with … when cut:
// for text printed beside the log lines (the demo's summary). s is not
// escaped.
func Truncate(s string, w int) string { return truncEnd(s, w) }

// truncEnd shortens s to at most w columns, ending it with … when cut.
func truncEnd(s string, w int) string {
	if width(s) <= w {
		return s
	}
	if w <= 0 {
		return ""
	}
	return runewidth.Truncate(s, w, "…")
}

// truncMiddle shortens s to at most w columns by putting … in its middle,
// keeping more of its end (a file's name and extension) than of its start.
func truncMiddle(s string, w int) string {
	if width(s) <= w {
		return s
	}
	if w < 5 {
		return truncEnd(s, w)
	}
	keep := w - 1
	head := keep / 3
	return runewidth.Truncate(s, head, "") + "…" + runewidth.TruncatePrefix(s, keep-head, "")
}

// Wrap breaks s at spaces into rows of at most width columns (a word
// longer than a row is cut), for text printed beside the log lines, such
// as the demo's narrative. Every row fits; s is not escaped.
func Wrap(s string, width int) []string { return wrapRows(s, width, width, 0) }

// wrap is wrapRows for a detail: at most detailLines rows.
func wrap(s string, first, rest int) []string { return wrapRows(s, first, rest, detailLines) }

// wrapRows breaks s at spaces into rows of at most first columns (the
// first row) and rest columns (the others), and at most maxRows rows (0:
// no limit), the last ending with … when s does not fit. A word longer
// than a row is cut.
func wrapRows(s string, first, rest, maxRows int) []string {
	first, rest = max(first, 2), max(rest, 2)
	var rows []string
	limit := func() int {
		if len(rows) == 0 {
			return first
		}
		return rest
	}
	words := strings.Fields(s)
	row := ""
	for len(words) > 0 && (maxRows == 0 || len(rows) < maxRows) {
		word, lim := words[0], limit()
		switch {
		case row == "" && width(word) > lim:
			cut := len(runewidth.Truncate(word, lim, ""))
			if cut == 0 { // a rune wider than the row
				_, cut = utf8.DecodeRuneInString(word)
			}
			rows = append(rows, word[:cut])
			words[0] = word[cut:]
		case row == "":
			row, words = word, words[1:]
		case width(row)+1+width(word) <= lim:
			row, words = row+" "+word, words[1:]
		default:
			rows, row = append(rows, row), ""
		}
	}
	if row != "" {
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return []string{""}
	}
	if len(words) > 0 {
		last, lim := len(rows)-1, rest
		if last == 0 {
			lim = first
		}
		rows[last] = truncEnd(rows[last], lim-1) + "…"
	}
	return rows
}

// size is n bytes for a person: "618 B", "16 KiB", "9.8 MiB", "1.2 GiB".
func size(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	unit := ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		unit = u
		if v < 1024 {
			break
		}
	}
	if v < 9.95 {
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

// rate is a speed in bytes per second for a person: "3.9 MiB/s".
func rate(bytesPerSecond float64) string { return size(int64(bytesPerSecond)) + "/s" }

// duration is d for a person, to the second: "4s", "1m05s", "2h03m".
func duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
