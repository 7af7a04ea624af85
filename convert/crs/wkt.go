package crs

import (
	"fmt"
	"strconv"
	"strings"
)

// node is a WKT element: KEYWORD[arg, arg, …]. An argument is a string
// (quoted in the text), a number, a bare word (AXIS["X",EAST]) or a node.
type node struct {
	name string
	args []any // string, float64, word, *node
}

type word string

const maxWKTDepth = 32

// parseWKT parses well-known text (WKT1, ESRI's flavour, or WKT2).
func parseWKT(s string) (*node, error) {
	p := &wktParser{s: s}
	n, err := p.node(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("WKT: unexpected %q after the end", clip(p.s[p.i:]))
	}
	return n, nil
}

type wktParser struct {
	s string
	i int
}

func (p *wktParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *wktParser) ident() string {
	p.space()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *wktParser) node(depth int) (*node, error) {
	if depth > maxWKTDepth {
		return nil, fmt.Errorf("WKT: nested more than %d deep", maxWKTDepth)
	}
	name := p.ident()
	if name == "" {
		return nil, fmt.Errorf("WKT: expected a keyword at %q", clip(p.s[p.i:]))
	}
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '[' && p.s[p.i] != '(') {
		return nil, fmt.Errorf("WKT: expected [ after %s", name)
	}
	closer := byte(']')
	if p.s[p.i] == '(' {
		closer = ')'
	}
	p.i++
	n := &node{name: strings.ToUpper(name)}
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == closer {
			p.i++
			return n, nil
		}
		if len(n.args) > 0 {
			if p.i >= len(p.s) || p.s[p.i] != ',' {
				return nil, fmt.Errorf("WKT: expected , or %c in %s", closer, name)
			}
			p.i++
			p.space()
		}
		arg, err := p.arg(depth)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, arg)
	}
}

func (p *wktParser) arg(depth int) (any, error) {
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("WKT: ends early")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			if p.s[p.i] == '"' {
				if p.i+1 < len(p.s) && p.s[p.i+1] == '"' { // "" is a quote
					b.WriteByte('"')
					p.i++
					continue
				}
				p.i++
				return b.String(), nil
			}
			b.WriteByte(p.s[p.i])
		}
		return nil, fmt.Errorf("WKT: unterminated string")
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		start := p.i
		for p.i < len(p.s) && strings.IndexByte("+-.0123456789eE", p.s[p.i]) >= 0 {
			p.i++
		}
		f, err := strconv.ParseFloat(p.s[start:p.i], 64)
		if err != nil {
			return nil, fmt.Errorf("WKT: %q is not a number", p.s[start:p.i])
		}
		return f, nil
	}
	save := p.i
	id := p.ident()
	p.space()
	if id != "" && p.i < len(p.s) && (p.s[p.i] == '[' || p.s[p.i] == '(') {
		p.i = save
		return p.node(depth + 1)
	}
	if id == "" {
		return nil, fmt.Errorf("WKT: unexpected %q", clip(p.s[p.i:]))
	}
	return word(id), nil
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// child returns the first child node with one of the names (upper case).
func (n *node) child(names ...string) *node {
	for _, a := range n.args {
		if c, ok := a.(*node); ok {
			for _, name := range names {
				if c.name == name {
					return c
				}
			}
		}
	}
	return nil
}

// str returns the i-th argument as a string ("" if it is none).
func (n *node) str(i int) string {
	if n == nil || i >= len(n.args) {
		return ""
	}
	switch v := n.args[i].(type) {
	case string:
		return v
	case word:
		return string(v)
	}
	return ""
}

// num returns the i-th argument as a number.
func (n *node) num(i int) (float64, bool) {
	if n == nil || i >= len(n.args) {
		return 0, false
	}
	f, ok := n.args[i].(float64)
	return f, ok
}

// params returns a projection's PARAMETER values by normalised name.
func (n *node) params() map[string]float64 {
	out := map[string]float64{}
	for _, a := range n.args {
		if c, ok := a.(*node); ok && c.name == "PARAMETER" {
			if v, ok := c.num(1); ok {
				out[normalize(c.str(0))] = v
			}
		}
	}
	return out
}

// normalize lower-cases a name and keeps only its letters and digits:
// "False_Easting" and "false easting" are "falseeasting".
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
