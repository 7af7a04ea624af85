// Package terminal makes text that tilesyncd did not write safe to show on
// an operator's terminal. File names come from whoever can write to a watch
// folder; printed as they are, a name holding an escape sequence can clear
// the screen, set the window title or rewrite earlier lines, and one holding
// a newline can forge a line of output.
//
// Escape replaces only the runes a terminal would act on or that do not
// print (C0 and C1 controls, DEL, format characters such as bidirectional
// overrides, spaces other than U+0020, invalid UTF-8) with their Go escapes,
// the spelling strconv.Quote and log/slog's text handler use: "\x1b", "\n",
// "\a", "\u202e", "\xff". Everything printable, in any script, is left as
// it is, so дороги.geojson stays readable. A backslash is not escaped, so
// that Windows paths stay readable: a name that holds the four characters
// `\x1b` reads like one that holds the escape; the JSON outputs tell them
// apart.
//
// The JSON outputs need none of this: encoding/json escapes every control
// character. Neither does the text log: slog's TextHandler quotes a message,
// key or value that holds a non-printing character, with strconv.Quote.
package terminal

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every rune that is not printable (strconv.IsPrint)
// replaced by its Go escape, and every byte that is not UTF-8 by \xNN. It
// returns s itself when there is nothing to escape.
func Escape(s string) string {
	i := firstUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for rest := s[i:]; rest != ""; {
		r, size := utf8.DecodeRuneInString(rest)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, rest[0])
		case strconv.IsPrint(r):
			b.WriteString(rest[:size])
		default:
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		rest = rest[size:]
	}
	return b.String()
}

// firstUnsafe is the byte offset of the first rune Escape changes, or -1.
func firstUnsafe(s string) int {
	for i, r := range s {
		if !strconv.IsPrint(r) {
			return i
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return -1
}

// Fprintf is fmt.Fprintf with every string, error and fmt.Stringer argument
// escaped (Escape): the format is the program's, the arguments may come from
// anyone. Verbs that quote (%q) are not meant for it: they would escape the
// escapes.
func Fprintf(w io.Writer, format string, args ...any) (int, error) {
	return fmt.Fprintf(w, format, Args(args...)...)
}

// Args returns args with every string, error and fmt.Stringer escaped and
// everything else as it is.
func Args(args ...any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = Escape(v)
		case error:
			out[i] = Escape(v.Error())
		case fmt.Stringer:
			out[i] = Escape(v.String())
		default:
			out[i] = a
		}
	}
	return out
}
