package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Validate checks what needs the filesystem: every watch folder exists and is
// a folder, none lies inside another, and the state database lies outside all
// of them (tilesyncd would otherwise watch its own database); it reads and
// checks each MTS rule's recipe (recipe.go). It also warns
// when the token file can be read by other users. Errors name file and line.
func (c *Config) Validate() error {
	p := &parser{file: displayName(c.File), root: c.root}
	for i, w := range c.Watch {
		at := fmt.Sprintf("watch[%d].path", i)
		fi, err := os.Stat(w.Path)
		switch {
		case err != nil && os.IsNotExist(err):
			p.errorf(at, "%s does not exist", w.Path)
			continue
		case err != nil:
			p.errorf(at, "%v", err)
			continue
		case !fi.IsDir():
			p.errorf(at, "%s is not a folder", w.Path)
			continue
		}
		for j, other := range c.Watch[:i] {
			if inside(w.Path, other.Path) || inside(other.Path, w.Path) {
				p.errorf(at, "%s overlaps watch[%d] (%s): one watch folder may not lie inside another", w.Path, j, other.Path)
			}
		}
		if w.Recursive && inside(c.State.Path, w.Path) || filepath.Dir(c.State.Path) == w.Path {
			p.errorf("state.path", "%s lies inside watch[%d] (%s): keep the database out of watched folders", c.State.Path, i, w.Path)
		}
	}
	c.loadRecipes(p)
	if c.Mapbox.TokenFile != "" {
		if fi, err := os.Stat(c.Mapbox.TokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			c.Warnings = append(c.Warnings, (&Error{File: p.file, Line: p.line("mapbox.token_file"), Path: "mapbox.token_file",
				Msg: fmt.Sprintf("%s can be read by other users (mode %04o): run chmod 600 %s", c.Mapbox.TokenFile, fi.Mode().Perm(), c.Mapbox.TokenFile)}).Error())
		}
	}
	return p.err()
}

// inside reports whether path lies within (or is) dir.
func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolveToken reads the token from the token file or the environment.
func (c *Config) resolveToken(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	p := &parser{file: displayName(c.File), root: c.root}
	m := &c.Mapbox
	if m.TokenFile != "" {
		data, err := os.ReadFile(m.TokenFile)
		if err != nil {
			p.errorf("mapbox.token_file", "cannot read the token: %v", err)
			return p.err()
		}
		m.Token = NewSecret(strings.TrimSpace(string(data)))
		if m.Token.IsZero() {
			p.errorf("mapbox.token_file", "%s is empty", m.TokenFile)
		}
		return p.err()
	}
	m.Token = NewSecret(strings.TrimSpace(getenv(m.TokenEnv)))
	if m.Token.IsZero() {
		p.errorf("mapbox", "no token: set the %s environment variable, or mapbox.token_file to a file holding it", m.TokenEnv)
	}
	return p.err()
}
