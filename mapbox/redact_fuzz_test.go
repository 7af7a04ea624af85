package mapbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzTokens are the tokens FuzzRedact embeds: shaped like Mapbox's, with
// the characters that need escaping in a query, a short one, and one
// shorter than fragmentLen (only all of it counts).
var fuzzTokens = []string{
	"sk.eyJ1IjoiYWxpY2UiLCJhIjoiY2x0b2tlbjAwMSJ9.aBcD_eF-gH+iJ/kL=",
	"pk.eyJ1IjoiTEVBSy1NRS1JRi1ZT1UtQ0FOIn0.Zm9vYmFy+/=",
	"pk.test-token",
	"tk.x1",
}

// The encodings of one character of the token that FuzzRedact mixes.
const (
	encRaw       = iota
	encQuery     // url.QueryEscape
	encPath      // url.PathEscape
	encHex       // %XX
	encHexLower  // %xx
	encSpecials  // %XX unless a letter or digit: dots as %2E
	encDouble    // %25XX: %XX escaped again
	encJSON      // \u00xx unless a letter or digit
	encJSONAll   // \u00XX
	encJSONSlash // \/ for '/'
	encHTMLDec   // &#DD;
	encHTMLHex   // &#xhh;
	encHTMLNamed // &period; &sol; &plus; &equals; &lowbar;
	encForm      // a space for '+'
	encJSONPct   // \u0025XX: %XX in JSON with its percent sign escaped
	encHTMLPct   // &#37;XX
	encJSEscape  // \xHH
	numEncodings
)

// encodeToken writes tok with its i-th character in encoding
// encs[i%len(encs)] (raw if encs is empty).
func encodeToken(tok string, encs []byte) string {
	var b strings.Builder
	for i := range len(tok) {
		c := tok[i]
		e := byte(encRaw)
		if len(encs) > 0 {
			e = encs[i%len(encs)] % numEncodings
		}
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		named := map[byte]string{'.': "&period;", '/': "&sol;", '+': "&plus;", '=': "&equals;", '_': "&lowbar;"}
		switch {
		case e == encQuery:
			b.WriteString(url.QueryEscape(string(c)))
		case e == encPath:
			b.WriteString(url.PathEscape(string(c)))
		case e == encHex, e == encSpecials && !alnum:
			fmt.Fprintf(&b, "%%%02X", c)
		case e == encHexLower:
			fmt.Fprintf(&b, "%%%02x", c)
		case e == encDouble:
			fmt.Fprintf(&b, "%%25%02X", c)
		case e == encJSON && !alnum:
			fmt.Fprintf(&b, `\u%04x`, c)
		case e == encJSONAll:
			fmt.Fprintf(&b, `\u%04X`, c)
		case e == encJSONSlash && c == '/':
			b.WriteString(`\/`)
		case e == encHTMLDec:
			fmt.Fprintf(&b, "&#%d;", c)
		case e == encHTMLHex:
			fmt.Fprintf(&b, "&#x%x;", c)
		case e == encHTMLNamed && named[c] != "":
			b.WriteString(named[c])
		case e == encForm && c == '+':
			b.WriteByte(' ')
		case e == encJSONPct:
			fmt.Fprintf(&b, `\u0025%02X`, c)
		case e == encHTMLPct:
			fmt.Fprintf(&b, "&#37;%02x", c)
		case e == encJSEscape:
			fmt.Fprintf(&b, `\x%02X`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// How FuzzRedact hands the body to the client.
const (
	wrapPlain     = iota // a body that is not JSON: an excerpt of maxExcerpt
	wrapMessage          // Mapbox's {"message": body}: maxMessage
	wrapOtherJSON        // {"error": body}: JSON, but not Mapbox's, so an excerpt
	wrapTransport        // the text of a transport error
	numWraps
)

// redactSeed is one input of FuzzRedact: the body is prefix, the token
// encoded by encs and cut to keep bytes (0: all of it), then suffix. limit
// and window drive excerptFrom directly.
type redactSeed struct {
	name           string
	token          uint8
	prefix, suffix string
	encs           []byte
	keep           uint16
	wrap           uint8
	limit, window  uint16
}

// redactSeeds seed FuzzRedact; each runs in every wrap.
var redactSeeds = []redactSeed{
	{name: "straddles the 200-byte cut", prefix: strings.Repeat("x", 190), limit: 200},
	{name: "a line, then straddles the cut", prefix: "<h1>502 Bad Gateway</h1>\n" + strings.Repeat("y", 165), suffix: " was refused", limit: 200},
	{name: "dots as %2E", prefix: "GET /uploads/v1/alice?access_token=", encs: []byte{encSpecials}, limit: 200},
	{name: "query-escaped", prefix: "refused access_token=", encs: []byte{encQuery}, limit: 60},
	{name: "path-escaped", prefix: "/", encs: []byte{encPath}, suffix: "/", limit: 40},
	{name: "every character escaped, mixed case", encs: []byte{encHex, encHexLower}, limit: 500},
	{name: "every encoding in turn", encs: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, limit: 300},
	{name: "double-escaped", prefix: "next=https%3A%2F%2Fapi%2F%3Faccess_token%3D", encs: []byte{encDouble, encRaw}, limit: 200},
	{name: "JSON escapes", prefix: `{"url":"https:\/\/api\/?access_token=`, encs: []byte{encJSON, encJSONSlash}, suffix: `"}`, limit: 200},
	{name: "HTML references", prefix: "<code>", encs: []byte{encHTMLDec, encRaw, encHTMLHex, encHTMLNamed}, suffix: "</code>", limit: 200},
	{name: "escaped percent signs", encs: []byte{encJSONPct, encHTMLPct, encJSEscape}, limit: 200},
	{name: "form-decoded", prefix: "token ", encs: []byte{encForm}, limit: 200},
	{name: "truncated by the gateway", prefix: "access_token=", keep: 12, suffix: "...", limit: 200},
	{name: "cut through an escape", prefix: "t=", encs: []byte{encHex}, limit: 2 + 3*9 + 1},
	{name: "cut in a [redacted]", prefix: "abc ", limit: 8},
	{name: "long body, small window", prefix: strings.Repeat("<p>filler</p>", 40), suffix: strings.Repeat("z", 3000), limit: 500, window: 7},
	{name: "UTF-8 at the cut", prefix: strings.Repeat("é", 99), suffix: "ü", limit: 199},
	{name: "short token", token: 3, prefix: "tk.x1 tk%2Ex1 ", limit: 200},
}

// TestExcerpt shows what excerpt makes of a token (fuzzTokens[0]) in a few
// encodings and at the cut.
func TestExcerpt(t *testing.T) {
	tok := fuzzTokens[0]
	x := strings.Repeat("x", 190)
	cases := []struct {
		in    string
		limit int
		want  string
	}{
		{"sk%2EeyJ1IjoiYWxp rest", 100, "[redacted] rest"},
		{"sk%2eeyJ1IjoiYWxp rest", 100, "[redacted] rest"},
		{"sk%252EeyJ1Ijoi", 100, "[redacted]"},
		{`a=sk\u002eeyJ1Ijoi&b=1`, 100, "a=[redacted]&b=1"},
		{"sk&#46;eyJ1Ijoi&period;", 100, "[redacted]&period;"},    // the token goes on with "YWxp", not "."
		{"aBcD_eF-gH iJ/kL= end", 100, "[redacted] end"},          // + as a space
		{"sk.eyJ1I", 100, "[redacted]"},                           // 8 characters of it
		{"sk.eyJ1 and eyJhbGciOi", 100, "sk.eyJ1 and eyJhbGciOi"}, // 7 are not
		{x + tok, 200, x + "[redacted]"},
		{x + tok + " tail", 200, x + "[redacted]…"},
		{x + "xxxxx" + tok, 200, x + "xxxxx…"}, // not cut inside [redacted]
		{x + "xxxxxxxx" + "sk%2Ee", 200, x + "xxxxxxxx" + "sk…"},
		{strings.Repeat("é", 100) + "!", 199, strings.Repeat("é", 99) + "…"},
	}
	m := newTokenMatcher(tok)
	for _, tc := range cases {
		if got := m.excerpt(tc.in, tc.limit); got != tc.want {
			t.Errorf("excerpt(%q, %d)\n got %q\nwant %q", tc.in, tc.limit, got, tc.want)
		}
	}
	// A token with a '%' in it: the cut through "%2E" leaves "%2", and the
	// text before it then reads as "abcdefg%2", 9 characters of the token.
	const in = "ab%63defg%2E tail"
	if got := newTokenMatcher("abcdefg%2zzz").excerpt(in, 11); got != "…" {
		t.Errorf("excerpt(%q, 11) with a %% in the token = %q, want %q", in, got, "…")
	}
}

// TestRedactSeeds runs the seeds of FuzzRedact as a table, so that a
// failure names its case.
func TestRedactSeeds(t *testing.T) {
	for _, s := range redactSeeds {
		for wrap := range uint8(numWraps) {
			t.Run(fmt.Sprintf("%s/%d", s.name, wrap), func(t *testing.T) {
				checkRedaction(t, s.token, s.prefix, s.suffix, s.encs, s.keep, wrap, s.limit, s.window)
			})
		}
	}
}

// FuzzRedact embeds a token in random encodings at random places of random
// bodies, hands them to the client as error bodies and transport errors,
// and to excerpt at random limits, and checks that no fragmentLen
// characters of the token come out, as written or decoded. go test runs
// the seeds and 256 random inputs; make chaos fuzzes.
func FuzzRedact(f *testing.F) {
	for _, s := range redactSeeds {
		for wrap := range uint8(numWraps) {
			f.Add(s.token, s.prefix, s.suffix, s.encs, s.keep, wrap, s.limit, s.window)
		}
	}
	rng := rand.New(rand.NewPCG(13, 1))
	for range 256 {
		encs := make([]byte, rng.IntN(4)+1)
		for i := range encs {
			encs[i] = byte(rng.IntN(numEncodings))
		}
		f.Add(uint8(rng.IntN(len(fuzzTokens))), randomText(rng, rng.IntN(400)), randomText(rng, rng.IntN(100)),
			encs, uint16(rng.IntN(3)*rng.IntN(200)), uint8(rng.IntN(numWraps)), uint16(rng.IntN(600)), uint16(rng.IntN(300)))
	}
	f.Fuzz(checkRedaction)
}

// randomText is text with the characters that begin or end escapes.
func randomText(rng *rand.Rand, n int) string {
	const alphabet = `abcXYZ019 .-_+/=%&#;\u"<>é`
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	return strings.ToValidUTF8(b.String(), "?")
}

func checkRedaction(t *testing.T, token uint8, prefix, suffix string, encs []byte, keep uint16, wrap uint8, limit, window uint16) {
	tok := fuzzTokens[int(token)%len(fuzzTokens)]
	enc := encodeToken(tok, encs)
	if keep > 0 && int(keep) < len(enc) {
		enc = enc[:keep]
	}
	body := prefix + enc + suffix
	c, err := New(Options{BaseURL: "https://api.example", Username: "alice", Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	switch wrap % numWraps {
	case wrapPlain:
		got = c.statusError(EndpointCreate, "POST", "/uploads/v1/alice", 502, RateLimit{}, []byte(body)).Error()
	case wrapMessage, wrapOtherJSON:
		key := map[uint8]string{wrapMessage: "message", wrapOtherJSON: "error"}[wrap%numWraps]
		js, _ := json.Marshal(map[string]string{key: body})
		got = c.statusError(EndpointCreate, "POST", "/uploads/v1/alice", 422, RateLimit{}, js).Error()
	case wrapTransport:
		k := call{ep: EndpointStatus, method: "GET"}
		got = c.transportError(k, "/uploads/v1/alice/x", 0, RateLimit{}, errors.New(body)).Error()
	}
	if frag := tokenFragment(tok, got); frag != "" {
		t.Fatalf("%q of the token survives in %q\nbody %q", frag, got, body)
	}

	m := newTokenMatcher(tok)
	lim, win := int(limit)%1200, int(window)%600+1
	got = m.excerptFrom(body, lim, win)
	if frag := tokenFragment(tok, got); frag != "" {
		t.Fatalf("excerpt(%d, window %d): %q of the token survives in %q\nbody %q", lim, win, frag, got, body)
	}
	full := m.redact(body)
	cut, wasCut := strings.CutSuffix(got, "…")
	switch {
	case len(full) <= lim && got != full:
		t.Fatalf("excerpt(%d, window %d) = %q, want all of %q", lim, win, got, full)
	case len(full) > lim && (!wasCut || len(cut) > lim):
		t.Fatalf("excerpt(%d, window %d) = %q (%d bytes), want at most %d and …", lim, win, got, len(cut), lim)
	case !strings.HasPrefix(full, cut):
		t.Fatalf("excerpt(%d, window %d) = %q, not a prefix of the whole redaction %q", lim, win, got, full)
	case utf8.ValidString(body) && !utf8.ValidString(got):
		t.Fatalf("excerpt(%d, window %d) = %q cuts a character", lim, win, got)
	}
}

// TokenFragment returns the first fragmentLen characters of tok (all of it
// if shorter) found in s: as written, percent-decoded once or twice, with
// HTML references or JSON escapes or both decoded (and then percent
// escapes), each also with spaces read as '+'; "" if none. It is the oracle of the
// redaction tests, exported for the package's external tests.
var TokenFragment = tokenFragment

func tokenFragment(tok, s string) string {
	n := min(fragmentLen, len(tok))
	h, j := html.UnescapeString(s), jsonUnescape(s)
	hj, jh := jsonUnescape(h), html.UnescapeString(j)
	views := []string{s, percentDecode(s), percentDecode(percentDecode(s)), h, percentDecode(h), j, percentDecode(j),
		percentDecode(hj), percentDecode(jh)}
	for _, v := range views {
		for _, v := range []string{v, strings.ReplaceAll(v, " ", "+")} {
			for i := 0; i+n <= len(tok); i++ {
				if strings.Contains(v, tok[i:i+n]) {
					return tok[i : i+n]
				}
			}
		}
	}
	return ""
}

// percentDecode decodes every valid %XX and keeps the rest as it is.
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var jsonEscape = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)`)

// jsonUnescape decodes JSON's and JavaScript's backslash escapes.
func jsonUnescape(s string) string {
	return jsonEscape.ReplaceAllStringFunc(s, func(e string) string {
		if len(e) == 2 {
			return e[1:]
		}
		n, _ := strconv.ParseUint(e[2:], 16, 32)
		return string(rune(n))
	})
}

// BenchmarkExcerpt measures an excerpt of a 4 MiB gateway page (the read
// cap) with the token in it, and a redaction of all of it.
func BenchmarkExcerpt(b *testing.B) {
	tok := fuzzTokens[0]
	page := strings.Repeat("<p>upstream refused GET /x?a=1&amp;b=%2F \\u002e</p>\n", (maxBody/50)) +
		url.QueryEscape(tok)
	m := newTokenMatcher(tok)
	b.Run("excerpt", func(b *testing.B) {
		for b.Loop() {
			m.excerpt(page, maxExcerpt)
		}
	})
	b.Run("redact all", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			m.redact(page)
		}
	})
}
