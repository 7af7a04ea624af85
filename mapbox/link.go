package mapbox

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// nextStart returns the start cursor of the rel="next" link in the Link
// headers of a list answer (RFC 8288): "" with a nil error when there is no
// such link (the last page). Any number of Link headers and of links per
// header are read; a link's target may hold commas and semicolons, its
// parameters may be quoted or not, in any case, and rel may be a
// space-separated list ("next last"). The first rel="next" link counts. A
// next link without a start parameter, or whose target is not a URL, is an
// error: going on would silently lose the rest of the list.
func nextStart(h http.Header) (string, error) {
	for _, v := range h.Values("Link") {
		for _, l := range parseLinks(v) {
			if !hasRel(l.rel, "next") {
				continue
			}
			u, err := url.Parse(l.target)
			if err != nil {
				return "", errors.New("next link is not a URL")
			}
			start := u.Query().Get("start")
			if start == "" {
				return "", errors.New("next link has no start cursor")
			}
			return start, nil
		}
	}
	return "", nil
}

// link is one link-value of a Link header: its target and its rel.
type link struct{ target, rel string }

// parseLinks reads the link-values of one Link header value. It is lenient:
// a malformed link-value ends the parse, keeping the links before it.
func parseLinks(s string) []link {
	var out []link
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" || s[0] != '<' {
			return out
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return out
		}
		l := link{target: strings.TrimSpace(s[1:end])}
		s = s[end+1:]
		relSeen := false
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] != ';' {
				break
			}
			var name, value string
			name, value, s = parseParam(s[1:])
			if strings.EqualFold(name, "rel") && !relSeen { // RFC 8288: only the first rel counts
				l.rel, relSeen = value, true
			}
		}
		out = append(out, l)
		s = strings.TrimLeft(s, " \t")
		if s != "" && s[0] != ',' {
			return out
		}
	}
}

// parseParam reads `name[=value]` at the start of s (after the ';') and
// returns the rest of s. The value may be a token or a quoted-string with
// backslash escapes.
func parseParam(s string) (name, value, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, "=;,")
	if i < 0 {
		return strings.TrimSpace(s), "", ""
	}
	name = strings.TrimSpace(s[:i])
	if s[i] != '=' {
		return name, "", s[i:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if s == "" || s[0] != '"' {
		j := strings.IndexAny(s, ";,")
		if j < 0 {
			return name, strings.TrimSpace(s), ""
		}
		return name, strings.TrimSpace(s[:j]), s[j:]
	}
	var b strings.Builder
	for j := 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\\' && j+1 < len(s):
			j++
			b.WriteByte(s[j])
		case c == '"':
			return name, b.String(), s[j+1:]
		default:
			b.WriteByte(c)
		}
	}
	return name, b.String(), "" // unterminated: take what there is
}

// hasRel reports whether the space-separated relation types of rel include
// want, compared without case.
func hasRel(rel, want string) bool {
	for _, r := range strings.Fields(rel) {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}
