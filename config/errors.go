package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem with one value of the configuration.
type Error struct {
	File string // the configuration file
	Line int    // 1-based; 0 when the value is absent from the file
	Path string // the value's place, like rules[2].tileset ("" for the file as a whole)
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, in file order. Its
// Error() is one problem a line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// parser collects errors and finds the line of a value from its path.
type parser struct {
	file string
	root yaml.Node
	errs Errors
}

func (p *parser) errorf(path, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: p.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return p.errs
}

// line finds the line of the value at path ("watch[1].settle"). Where the
// value is absent it gives the line of the nearest enclosing value present,
// which is where the user must add it.
func (p *parser) line(path string) int {
	n := &p.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	if n.Kind != 0 {
		line = n.Line
	}
	for _, part := range splitPath(path) {
		next, keyLine := child(n, part)
		if next == nil {
			return line
		}
		n, line = next, next.Line
		if keyLine > 0 && (next.Kind == yaml.MappingNode || next.Kind == yaml.SequenceNode) {
			// A block's own line is its first entry's; the key's line reads better.
			line = keyLine
		}
	}
	return line
}

// child returns the value under n at part, and the line of its key.
func child(n *yaml.Node, part pathPart) (*yaml.Node, int) {
	if part.index >= 0 {
		if n.Kind == yaml.SequenceNode && part.index < len(n.Content) {
			return n.Content[part.index], 0
		}
		return nil, 0
	}
	if n.Kind != yaml.MappingNode {
		return nil, 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == part.key {
			return n.Content[i+1], n.Content[i].Line
		}
	}
	return nil, 0
}

type pathPart struct {
	key   string
	index int // -1 for a key
}

func splitPath(path string) []pathPart {
	var parts []pathPart
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			continue
		}
		key, rest, _ := strings.Cut(seg, "[")
		if key != "" {
			parts = append(parts, pathPart{key: key, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil {
				break
			}
			parts = append(parts, pathPart{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return parts
}

var (
	yamlLineRe    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownKeyRe  = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)
	yamlTypeNames = map[string]string{"fileYAML": "the top level", "mapboxYAML": "mapbox", "stateYAML": "state",
		"watchYAML": "a watch folder", "ruleYAML": "a rule", "fleetYAML": "fleet", "notifyYAML": "a notify entry"}
)

// yamlError turns yaml.v3's errors into file:line: errors, one per problem.
func (p *parser) yamlError(err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out Errors
	for _, m := range msgs {
		e := &Error{File: p.file, Msg: m}
		if sub := yamlLineRe.FindStringSubmatch(m); sub != nil {
			e.Line, _ = strconv.Atoi(sub[1])
			e.Msg = sub[2]
		}
		if sub := unknownKeyRe.FindStringSubmatch(e.Msg); sub != nil {
			where := yamlTypeNames[sub[2]]
			if where == "" {
				where = "this section"
			}
			e.Msg = fmt.Sprintf("unknown key %q in %s (misspelt? see config.example.yaml)", sub[1], where)
		}
		out = append(out, e)
	}
	return out
}
