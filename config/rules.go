package config

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Rule maps matching files to a tileset.
type Rule struct {
	Index   int    // its place in the rules list
	Match   string // glob, or ""
	Regex   string // regular expression, or ""
	Tileset string // template of the tileset ID
	Name    string // template of the display name
	Skip    bool   // matching files are never uploaded
	// MTS is set for a rule with target: mts (mts.go); nil: the Uploads API.
	MTS *MTSRule

	glob    *Glob
	re      *regexp.Regexp
	tileset template
	name    template
}

// Label names the rule for people: `rules[2] (**/*.geojson)`.
func (r *Rule) Label() string {
	pat := r.Match
	if pat == "" {
		pat = "regex " + r.Regex
	}
	return fmt.Sprintf("rules[%d] (%s)", r.Index, pat)
}

// Placeholders every template may use; a regex rule adds its named groups.
var placeholders = []string{"username", "stem", "ext", "name", "dir", "parent", "path", "watch"}

func (p *parser) rule(i int, raw ruleYAML) *Rule {
	at := fmt.Sprintf("rules[%d]", i)
	r := &Rule{Index: i, Match: raw.Match, Regex: raw.Regex, Skip: raw.Skip,
		Tileset: orDefault(raw.Tileset, DefaultTilesetTemplate), Name: orDefault(raw.Name, DefaultNameTemplate)}
	known := slices.Clone(placeholders)
	switch {
	case raw.Match != "" && raw.Regex != "":
		p.errorf(at, "has both match and regex: give one")
	case raw.Match == "" && raw.Regex == "":
		p.errorf(at, "has neither match (a glob) nor regex")
	case raw.Match != "":
		g, err := CompileGlob(raw.Match)
		if err != nil {
			p.errorf(at+".match", "%v", err)
		}
		r.glob = g
	default:
		re, err := regexp.Compile(raw.Regex)
		if err != nil {
			p.errorf(at+".regex", "%v", err)
			break
		}
		r.re = re
		for _, g := range re.SubexpNames() {
			if g != "" {
				known = append(known, g)
			}
		}
	}
	if r.Skip {
		return r
	}
	var err error
	if r.tileset, err = parseTemplate(r.Tileset, known); err != nil {
		p.errorf(at+".tileset", "%v", err)
	} else if !strings.HasPrefix(r.Tileset, "{username}.") {
		p.errorf(at+".tileset", "%q must start with {username}. — a tileset ID is the account's name, a dot, then the tileset's name", r.Tileset)
	}
	if r.name, err = parseTemplate(r.Name, known); err != nil {
		p.errorf(at+".name", "%v", err)
	}
	return r
}

// Target is where a rule sends a file.
type Target struct {
	Rule    *Rule
	Tileset string // a valid tileset ID, "{username}.{name}"
	Name    string // display name, at most 64 characters
	// MTS is where an MTS rule sends the file (mts.go); nil for the Uploads API.
	MTS *MTSTarget
}

// Target returns the first rule matching rel (slash-separated, relative to w)
// and, unless the rule skips, the tileset and display name it gives.
func (c *Config) Target(w *Watch, rel string) (Target, bool) {
	for _, r := range c.Rules {
		captures, ok := r.match(rel)
		if !ok {
			continue
		}
		t := Target{Rule: r}
		if r.Skip {
			return t, true
		}
		vars := fileValues{username: c.Mapbox.Username, watch: w.Path, rel: rel, captures: captures}
		if r.re != nil {
			vars.names = r.re.SubexpNames()
		}
		_, name, _ := strings.Cut(r.tileset.render(vars.get), ".")
		t.Tileset = c.Mapbox.Username + "." + TilesetName(name)
		t.Name = DisplayName(r.name.render(vars.get))
		t.MTS = r.MTS.target(c.Mapbox.Username, t.Tileset, vars.get)
		if r.MTS != nil && r.MTS.layers {
			t.Tileset += LayerSep + t.MTS.Layer // one layer of a tileset several files feed
		}
		return t, true
	}
	return Target{}, false
}

// match reports whether rel matches the rule and, for a regexp, returns its
// submatches (named by r.re.SubexpNames).
func (r *Rule) match(rel string) ([]string, bool) {
	if r.glob != nil {
		return nil, r.glob.Match(rel)
	}
	if r.re == nil {
		return nil, false
	}
	m := r.re.FindStringSubmatch(rel)
	return m, m != nil
}

// fileValues are the values of a file's placeholders, worked out when a
// template asks: a regexp's named groups first, then the file's own
// (username, name, stem, ext, dir, parent, path, watch). Target runs for
// every file of every scan, so it builds no map.
type fileValues struct {
	username, watch, rel string
	captures, names      []string
}

func (v fileValues) get(name string) string {
	for i, g := range v.names {
		if g == name && g != "" && i < len(v.captures) {
			return v.captures[i]
		}
	}
	base := path.Base(v.rel)
	ext := path.Ext(base)
	dir := path.Dir(v.rel)
	if dir == "." {
		dir = ""
	}
	switch name {
	case "username":
		return v.username
	case "name":
		return base
	case "stem":
		return strings.TrimSuffix(base, ext)
	case "ext":
		return strings.ToLower(strings.TrimPrefix(ext, "."))
	case "dir":
		return dir
	case "parent":
		if dir == "" {
			return path.Base(strings.ReplaceAll(v.watch, "\\", "/"))
		}
		return path.Base(dir)
	case "path":
		return strings.TrimSuffix(v.rel, ext)
	case "watch":
		return path.Base(strings.ReplaceAll(v.watch, "\\", "/"))
	}
	return ""
}

// template is literal text with {placeholder}s.
type template []templatePart

type templatePart struct {
	text string
	ph   bool // text is a placeholder's name
}

func parseTemplate(s string, known []string) (template, error) {
	var t template
	for s != "" {
		open := strings.IndexAny(s, "{}")
		if open < 0 {
			t = append(t, templatePart{text: s})
			break
		}
		if s[open] == '}' {
			return nil, fmt.Errorf("%q: } without {", s)
		}
		if open > 0 {
			t = append(t, templatePart{text: s[:open]})
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: { without }", s)
		}
		name := s[open+1 : open+end]
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown placeholder {%s} (known: {%s})", name, strings.Join(known, "}, {"))
		}
		t = append(t, templatePart{text: name, ph: true})
		s = s[open+end+1:]
	}
	return t, nil
}

// placeholders is the set of placeholder names t uses.
func (t template) placeholders() names {
	out := names{}
	for _, p := range t {
		if p.ph {
			out[p.text] = true
		}
	}
	return out
}

// names is a set of placeholder names.
type names map[string]bool

// hasAnyBut reports whether n holds a name other holds not.
func (n names) hasAnyBut(other names) bool {
	for k := range n {
		if !other[k] {
			return true
		}
	}
	return false
}

func (t template) render(value func(placeholder string) string) string {
	var b strings.Builder
	for _, p := range t {
		if p.ph {
			b.WriteString(value(p.text))
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}
