package hookurl

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// mark replaces each secret.
const mark = "[redacted]"

// URL is a parsed webhook URL. Its String, GoString, MarshalText and
// LogValue show it redacted; Reveal is the one way to the URL itself. The
// zero URL is no URL.
type URL struct {
	raw     string
	shown   string
	scheme  string
	host    string
	secrets []string // longest first
}

// Parse reads an absolute http or https URL with a host and no fragment.
// Its errors never quote the URL beyond its scheme and host.
func Parse(s string) (URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return URL{}, errors.New("missing: the URL to send notifications to")
	}
	u, err := url.Parse(s)
	if err != nil {
		return URL{}, errors.New("is not a valid URL") // url.Error would repeat it whole
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return URL{}, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	case u.Host == "" || u.Opaque != "":
		return URL{}, fmt.Errorf("%s URL names no host (write it like %s://hooks.example.org/path)", u.Scheme, u.Scheme)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return URL{}, fmt.Errorf("%s://%s…: a #fragment is never sent; remove it", u.Scheme, u.Host)
	}
	h := URL{raw: s, scheme: u.Scheme, host: u.Host}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString(mark + "@")
		h.add(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			h.add(pw)
		}
	}
	b.WriteString(u.Host)
	segs := strings.Split(u.EscapedPath(), "/")
	slack := strings.EqualFold(u.Hostname(), "hooks.slack.com")
	for i, seg := range segs {
		if i > 0 {
			b.WriteByte('/')
		}
		plain, err := url.PathUnescape(seg)
		if err == nil && (looksSecret(plain) || slack && i == len(segs)-1 && seg != "") {
			b.WriteString(mark)
			h.add(seg)
			h.add(plain)
			continue
		}
		b.WriteString(seg)
	}
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteByte('?')
		for i, kv := range strings.Split(u.RawQuery, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			k, v, ok := strings.Cut(kv, "=")
			b.WriteString(k)
			if ok {
				b.WriteString("=")
				if v != "" {
					b.WriteString(mark)
				}
				h.add(v)
				if plain, err := url.QueryUnescape(v); err == nil {
					h.add(plain)
				}
			}
		}
	}
	h.shown = b.String()
	slices.SortFunc(h.secrets, func(a, b string) int { return len(b) - len(a) })
	return h, nil
}

// add records a secret for Redact, if it is long enough to be told from
// ordinary text.
func (h *URL) add(secret string) {
	if len(secret) >= 4 && !slices.Contains(h.secrets, secret) {
		h.secrets = append(h.secrets, secret)
	}
}

// looksSecret: 16 characters or more with letters and digits, or 32 or more.
func looksSecret(seg string) bool {
	if len(seg) >= 32 {
		return true
	}
	return len(seg) >= 16 && strings.ContainsFunc(seg, unicode.IsLetter) && strings.ContainsFunc(seg, unicode.IsDigit)
}

// IsZero reports whether u holds no URL.
func (u URL) IsZero() bool { return u.raw == "" }

// Reveal returns the URL itself, credentials included: for the request only.
func (u URL) Reveal() string { return u.raw }

// Scheme is "http" or "https".
func (u URL) Scheme() string { return u.scheme }

// Host is the URL's host (and port), which is never secret.
func (u URL) Host() string { return u.host }

// String is the URL with its credentials replaced by [redacted].
func (u URL) String() string { return u.shown }

// GoString keeps %#v from printing the credentials.
func (u URL) GoString() string { return fmt.Sprintf("hookurl.URL(%q)", u.shown) }

// MarshalText keeps encoders (JSON, YAML, slog's handlers) from printing
// the credentials.
func (u URL) MarshalText() ([]byte, error) { return []byte(u.shown), nil }

// LogValue logs the redacted URL.
func (u URL) LogValue() slog.Value { return slog.StringValue(u.shown) }

// Redact returns text with every credential of u in it replaced by
// [redacted]: for errors and answers that may quote the URL.
func (u URL) Redact(text string) string {
	if text == "" {
		return text
	}
	if u.raw != "" {
		text = strings.ReplaceAll(text, u.raw, u.shown)
	}
	for _, s := range u.secrets {
		text = strings.ReplaceAll(text, s, mark)
	}
	return text
}
