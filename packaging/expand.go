package packaging

import (
	"fmt"
	"strings"
)

// expand fills a line-oriented template: every {{Key}} is replaced by
// vals[Key], and a line whose placeholders all have empty values is left out,
// so an optional setting is simply a line of its own. An unknown key is an
// error, so a typo in a template cannot render silently.
//
// This is deliberately not text/template: importing text/template makes the
// linker keep every exported method of every type (it reaches
// reflect.Value.MethodByName), which github.com/kardianos/service removed for
// the same reason. The service files need nothing more than this.
func expand(tmpl string, vals map[string]string) (string, error) {
	var b strings.Builder
	for line := range strings.SplitAfterSeq(tmpl, "\n") {
		if line == "" {
			continue
		}
		out, keys, filled, err := fillLine(line, vals)
		if err != nil {
			return "", err
		}
		if keys > 0 && filled == 0 {
			continue
		}
		b.WriteString(out)
	}
	return b.String(), nil
}

// fillLine replaces the placeholders of one line and counts them, and those
// with a value.
func fillLine(line string, vals map[string]string) (out string, keys, filled int, err error) {
	var b strings.Builder
	rest := line
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			return b.String(), keys, filled, nil
		}
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return "", 0, 0, fmt.Errorf("template line %q: unclosed {{", strings.TrimSpace(line))
		}
		key := rest[open+2 : open+end]
		v, ok := vals[key]
		if !ok {
			return "", 0, 0, fmt.Errorf("template line %q: unknown key %q", strings.TrimSpace(line), key)
		}
		keys++
		if v != "" {
			filled++
		}
		b.WriteString(rest[:open])
		b.WriteString(v)
		rest = rest[open+end+2:]
	}
}
