package mapbox

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Redaction of the token in the texts an error quotes from an answer.
//
// A proxy or gateway that refuses a request may echo its URL, token
// included, in its error page, and net/http quotes a malformed status line
// in its error. What such a text may show of the token is any run of
// fragmentLen or more of its characters (or all of it, if it is shorter),
// each character written as itself or in one of the encodings found in URLs,
// JSON and HTML, mixed freely:
//
//	%2E %2e                percent-encoding, either case (query or path escaping)
//	%252E                  percent-encoding applied twice
//	\u002e \x2e \/         JSON and JavaScript escapes; \u00252E is a JSON-escaped %2E
//	&#46; &#x2e; &period;  HTML character references; &#37;2E and &percnt;2E are
//	                       HTML-escaped %2E; \u0026#46; is JSON-escaped &#46;
//	+ and space            one for the other (form encoding)
//
// tokenMatcher finds such runs in linear time: it reads the text as a
// sequence of characters, in three passes (as written; with one level of
// escapes decoded; with percent-encoding decoded twice), each decoding
// greedily from left to right, and looks up every window of fragmentLen
// consecutive characters, packed into a uint64, in the set of the token's
// windows. Every window found is replaced, with those that touch or
// overlap it, by one [redacted]. A run of characters whose every window is
// one of the token's is redacted even if the run as a whole is not part of
// the token; that costs nothing but a little of an error message.
//
// The passes agree on a token without '%', '\' or '&' (Mapbox tokens are
// letters, digits, '.', '-' and '_'). For any token, an occurrence written
// in one consistent encoding is found; a token that contains those
// characters and is written in a mix of encodings may escape the decoding
// passes.

// redactedMark replaces the token and every fragment of it.
const redactedMark = "[redacted]"

// fragmentLen is the length of the shortest run of the token's characters
// that is redacted: the token's first fragmentLen characters say which
// account it is for, and no ordinary text holds 8 characters of a token.
const fragmentLen = 8

// Limits of the texts an error quotes from an answer, in bytes; a text cut
// to its limit ends with "…".
const (
	// maxExcerpt bounds the part of a body that is not Mapbox's JSON.
	maxExcerpt = 200
	// maxMessage bounds Mapbox's message and a transport error's text, so
	// that what the state file and the history keep is bounded.
	maxMessage = 1000
)

// excerpt returns s with the token redacted, cut to limit bytes. It redacts
// first and cuts after, so no token straddles the cut; a cut splits neither
// a character nor a [redacted], and a fragment of the token that a cut
// leaves at the end (a partial escape that decoded in full) is removed.
func (c *Client) excerpt(s string, limit int) string {
	return newTokenMatcher(string(c.token)).excerpt(s, limit)
}

// tokenMatcher finds the token and its fragments in a text.
type tokenMatcher struct {
	n       int       // characters per window: fragmentLen, or the token's length if shorter
	mask    uint64    // the low n bytes
	windows []uint64  // every window of the token, packed into a uint64, in an open-addressed table (0: empty)
	shift   uint      // 64 - log2(len(windows))
	inToken [256]bool // the characters of the token
}

// notToken is what a character that cannot be part of the token decodes
// to (a \u escape beyond ASCII); a token holds no NUL.
const notToken = 0

// newTokenMatcher prepares the windows of token, in a table of 4 to 8
// slots per character of the token: it is made for each error, which is
// rare.
func newTokenMatcher(token string) *tokenMatcher {
	m := &tokenMatcher{n: min(fragmentLen, len(token)), shift: 64 - 2}
	for 1<<(64-m.shift) < 4*len(token) {
		m.shift--
	}
	m.windows = make([]uint64, 1<<(64-m.shift))
	m.mask = ^uint64(0) >> (64 - 8*m.n)
	var key uint64
	for i := range len(token) {
		b := fold(token[i])
		m.inToken[b] = true
		key = key<<8 | uint64(b)
		if i+1 >= m.n && key&m.mask != 0 {
			m.add(key & m.mask)
		}
	}
	m.inToken[notToken] = false
	return m
}

// slot is where the search for key in windows starts (Fibonacci hashing).
func (m *tokenMatcher) slot(key uint64) int { return int((key * 0x9E3779B97F4A7C15) >> m.shift) }

func (m *tokenMatcher) add(key uint64) {
	for i := m.slot(key); ; i = (i + 1) & (len(m.windows) - 1) {
		if m.windows[i] == key || m.windows[i] == 0 {
			m.windows[i] = key
			return
		}
	}
}

// has reports whether key is a window of the token. The table is never
// more than a quarter full, so the search ends at an empty slot soon.
func (m *tokenMatcher) has(key uint64) bool {
	for i := m.slot(key); ; i = (i + 1) & (len(m.windows) - 1) {
		switch m.windows[i] {
		case key:
			return true
		case 0:
			return false
		}
	}
}

// excerpt is Client.excerpt. Only a prefix of a long s is redacted: a run
// that straddles the end of the prefix is either redacted from the same
// start (when n of its characters are in the prefix), or left as it is in
// the last tailSlack bytes of the prefix's redaction; so once that
// redaction is longer than limit+tailSlack, its first limit+tailSlack bytes
// are those of the whole text's redaction, and all the cut reads.
func (m *tokenMatcher) excerpt(s string, limit int) string {
	return m.excerptFrom(s, limit, 4096)
}

// excerptFrom is excerpt, redacting the first limit+window bytes of s, and
// twice as many each time that is not enough.
func (m *tokenMatcher) excerptFrom(s string, limit, window int) string {
	const tailSlack = fragmentLen*maxEscapeLen + 2*len(redactedMark)
	r := ""
	for p := limit + window; ; p *= 2 {
		if p >= len(s) {
			r = m.redact(s)
			break
		}
		if r = m.redact(s[:p]); len(r) > limit+tailSlack {
			break
		}
	}
	if len(r) <= limit {
		return r
	}
	k := limit
	for k > 0 && !utf8.RuneStart(r[k]) {
		k--
	}
	// Not inside a [redacted]: before it.
	lo := max(0, k-len(redactedMark)+1)
	if i := strings.Index(r[lo:min(len(r), k+len(redactedMark)-1)], redactedMark); i >= 0 && lo+i < k {
		k = lo + i
	}
	cut := r[:k]
	// A cut through an escape changes how the text before it decodes; a
	// fragment that appears so is removed with what follows it.
	if spans := m.find(cut); len(spans) > 0 {
		cut = cut[:spans[0].start]
	}
	return cut + "…"
}

// redact returns s with every run of the token's characters found by find
// replaced by [redacted].
func (m *tokenMatcher) redact(s string) string {
	spans := m.find(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(redactedMark)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// span is a range of bytes of a text, [start, end).
type span struct{ start, end int }

// The passes of find.
const (
	passRaw    = iota // every byte is a character
	passDecode        // one level of escapes is decoded
	passDouble        // as passDecode, and %25XX is decoded to the byte XX
)

// find returns the ranges of s to redact, in order, disjoint and not
// touching. The decoding passes run only when s holds an escape.
func (m *tokenMatcher) find(s string) []span {
	spans := m.scan(s, passRaw, nil)
	if strings.ContainsAny(s, `%\&`) {
		spans = m.scan(s, passDecode, spans)
		if strings.Contains(s, "%25") {
			spans = m.scan(s, passDouble, spans)
		}
		slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	}
	merged := spans[:0]
	for _, sp := range spans {
		if l := len(merged) - 1; l >= 0 && sp.start <= merged[l].end {
			merged[l].end = max(merged[l].end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// scan appends to spans the ranges of s where, read in the given pass, n or
// more consecutive characters have every window of n among the token's.
// Within one pass the ranges come in order and touching ones are merged.
func (m *tokenMatcher) scan(s string, pass int, spans []span) []span {
	first := len(spans)
	var key uint64
	var starts [fragmentLen]int // where each of the last characters of the run began
	run := 0                    // characters of the token read in a row
	for i := 0; i < len(s); {
		b, n := fold(s[i]), 1
		if pass != passRaw && (b == '%' || b == '\\' || b == '&') {
			b, n = decodeAt(s, i, pass == passDouble)
		}
		if !m.inToken[b] {
			run = 0
			i += n
			continue
		}
		key = key<<8 | uint64(b)
		starts[run%fragmentLen] = i
		run++
		i += n
		if run < m.n {
			continue
		}
		if !m.has(key & m.mask) {
			continue
		}
		start := starts[(run-m.n)%fragmentLen]
		if l := len(spans) - 1; l >= first && start <= spans[l].end {
			spans[l].end = i
		} else {
			spans = append(spans, span{start, i})
		}
	}
	return spans
}

// fold makes a space and a '+' the same character: form encoding writes
// one for the other.
func fold(b byte) byte {
	if b == ' ' {
		return '+'
	}
	return b
}

// maxEscapeLen is the longest escape decodeAt reads: \u0026#x000025;XX.
const maxEscapeLen = 17

// decodeAt decodes the character that begins at s[i] and returns it with
// the number of bytes it takes. An escape it does not know, or a partial
// one, is read as the character that begins it.
func decodeAt(s string, i int, double bool) (byte, int) {
	c := s[i]
	switch c {
	case '%':
		if double && i+5 <= len(s) && s[i+1] == '2' && s[i+2] == '5' {
			if b, ok := unhex(s[i+3], s[i+4]); ok {
				return fold(b), 5
			}
		}
		if i+3 <= len(s) {
			if b, ok := unhex(s[i+1], s[i+2]); ok {
				return fold(b), 3
			}
		}
	case '\\':
		if i+1 >= len(s) {
			break
		}
		switch s[i+1] {
		case 'u':
			if i+6 > len(s) {
				break
			}
			hi, ok1 := unhex(s[i+2], s[i+3])
			lo, ok2 := unhex(s[i+4], s[i+5])
			if !ok1 || !ok2 {
				break
			}
			if hi != 0 || lo >= utf8.RuneSelf {
				return notToken, 6
			}
			if lo == '&' { // JSON-escaped HTML: \u0026#46;
				if b, n := charRef(s[i+6:]); n > 0 {
					return percentEscape(s, i, 6+n, b)
				}
			}
			return percentEscape(s, i, 6, lo)
		case 'x':
			if i+4 <= len(s) {
				if b, ok := unhex(s[i+2], s[i+3]); ok {
					return percentEscape(s, i, 4, b)
				}
			}
		case '/', '\\', '"', '\'':
			return fold(s[i+1]), 2
		}
	case '&':
		if b, n := charRef(s[i+1:]); n > 0 {
			return percentEscape(s, i, 1+n, b)
		}
	}
	return fold(c), 1
}

// percentEscape returns b, written in the n bytes at s[i], unless it is an
// escaped percent sign followed by two hex digits (\u0025 2E, &#37;2E):
// then the byte they encode.
func percentEscape(s string, i, n int, b byte) (byte, int) {
	if b == '%' && i+n+2 <= len(s) {
		if x, ok := unhex(s[i+n], s[i+n+1]); ok {
			return fold(x), n + 2
		}
	}
	return fold(b), n
}

// namedRefs are the HTML named character references of characters a token
// may hold, and of the percent sign.
var namedRefs = map[string]byte{"period;": '.', "plus;": '+', "sol;": '/', "equals;": '=',
	"lowbar;": '_', "UnderBar;": '_', "percnt;": '%'}

// charRef decodes the HTML character reference that s, which follows an
// ampersand, completes: #DDD; (up to 7 digits), #xHHH; (up to 6) or a name
// in namedRefs. The ';' of a numeric reference may be missing, as browsers
// allow. n, the bytes it takes of s, is 0 if there is none.
func charRef(s string) (b byte, n int) {
	if len(s) < 2 || s[0] != '#' {
		if end := strings.IndexByte(s[:min(len(s), 10)], ';'); end > 0 {
			if b, ok := namedRefs[s[:end+1]]; ok {
				return b, end + 1
			}
		}
		return 0, 0
	}
	base, j, maxDigits := 10, 1, 7
	if s[1] == 'x' || s[1] == 'X' {
		base, j, maxDigits = 16, 2, 6
	}
	v, digits := 0, 0
	for ; j < len(s) && digits < maxDigits; j++ {
		d, ok := digit(s[j], base)
		if !ok {
			break
		}
		v = v*base + d
		digits++
	}
	if digits == 0 {
		return 0, 0
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	if v == 0 || v >= utf8.RuneSelf {
		return notToken, j
	}
	return byte(v), j
}

// unhex decodes two hex digits of either case.
func unhex(a, b byte) (byte, bool) {
	x, ok1 := digit(a, 16)
	y, ok2 := digit(b, 16)
	return byte(x<<4 | y), ok1 && ok2
}

// digit is the value of c as a digit in base 10 or 16.
func digit(c byte, base int) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case base == 16 && 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case base == 16 && 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}
