package console

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// HandlerOptions configure a Handler. The zero value shows info and above
// at 80 columns, in local time.
type HandlerOptions struct {
	// Level is the least level shown; nil: info. Records the handler does
	// not know as events are shown below warnings only at the debug level.
	Level slog.Leveler
	// Width is the terminal's width in columns, asked for each line; nil
	// or a result of 0: 80.
	Width func() int
	// Roots are the watch folders: a file is shown by its path below its
	// folder. The folders that records name (their "watch" attribute, as
	// the watcher's "watching" does) are added as they come.
	Roots []string
	// Progress says that a Display shows the stagings' progress: the
	// sender's periodic "staging progress" records are then not shown.
	Progress bool
	// Location is the time zone of the times shown; nil: time.Local.
	Location *time.Location
}

// Handler is a slog.Handler that renders tilesyncd's events for a person,
// one short line each (see the package documentation). It is safe for
// concurrent use; a line is written with one Write call.
type Handler struct {
	sh    *shared
	attrs []groupAttr // from WithAttrs, each with the group it was added in
	group string      // the current group: "" or "name." (nested: "a.b.")
}

// groupAttr is an attribute with the group prefix it was given under.
type groupAttr struct {
	prefix string
	attr   slog.Attr
}

// shared is what a Handler and those derived from it share.
type shared struct {
	mu    sync.Mutex
	out   io.Writer
	opts  HandlerOptions
	roots []string          // longest first
	jobs  map[uint64]jobRun // sizes and staging starts, by job ID
}

// jobRun is what the handler remembers of a job between its lines.
type jobRun struct {
	size    int64
	staging time.Time // when its staging began
}

// maxJobs bounds the jobs remembered: past it, the memory starts over (a
// later line then lacks a size, nothing worse).
const maxJobs = 10000

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler writing to w.
func NewHandler(w io.Writer, opts HandlerOptions) *Handler {
	sh := &shared{out: w, opts: opts, jobs: map[uint64]jobRun{}}
	for _, r := range opts.Roots {
		sh.addRoot(r)
	}
	return &Handler{sh: sh}
}

// Enabled reports whether records of the level are shown.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level()
}

func (h *Handler) level() slog.Level {
	if h.sh.opts.Level == nil {
		return slog.LevelInfo
	}
	return h.sh.opts.Level.Level()
}

// WithAttrs returns a Handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	nh := *h
	nh.attrs = make([]groupAttr, len(h.attrs), len(h.attrs)+len(attrs))
	copy(nh.attrs, h.attrs)
	for _, a := range attrs {
		nh.attrs = append(nh.attrs, groupAttr{h.group, a})
	}
	return &nh
}

// WithGroup returns a Handler that puts the attributes that follow in the
// group name (they are read as "name.key").
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	nh := *h
	nh.group = h.group + name + "."
	return &nh
}

// Handle writes the record's line, or nothing when it is not shown.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	f := fields{}
	for _, ga := range h.attrs {
		f.add(ga.prefix, ga.attr)
	}
	r.Attrs(func(a slog.Attr) bool {
		f.add(h.group, a)
		return true
	})
	sh := h.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v, ok := f["watch"]; ok && v.Kind() == slog.KindString {
		sh.addRoot(v.String())
	}
	l, ok := sh.event(r, f, h.level())
	if !ok {
		return nil
	}
	var b strings.Builder
	for _, row := range l.render(sh.width()) {
		b.WriteString(row)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(sh.out, b.String())
	return err
}

func (sh *shared) width() int {
	if sh.opts.Width != nil {
		if w := sh.opts.Width(); w > 0 {
			return w
		}
	}
	return defaultWidth
}

// defaultWidth is the width of a terminal whose size cannot be read.
const defaultWidth = 80

// addRoot remembers a watch folder, keeping the longest first so that a
// folder inside another is matched first.
func (sh *shared) addRoot(root string) {
	root = strings.TrimRight(root, `/\`)
	if root == "" || len(sh.roots) >= 256 {
		return
	}
	for _, r := range sh.roots {
		if r == root {
			return
		}
	}
	sh.roots = append(sh.roots, root)
	sort.SliceStable(sh.roots, func(i, j int) bool { return len(sh.roots[i]) > len(sh.roots[j]) })
}

// rel is path below its watch folder when it is in one, else path.
func (sh *shared) rel(path string) string {
	for _, r := range sh.roots {
		if len(path) > len(r)+1 && strings.HasPrefix(path, r) && (path[len(r)] == '/' || path[len(r)] == '\\') {
			return path[len(r)+1:]
		}
	}
	return path
}

// remember keeps what a line of a job told of it.
func (sh *shared) remember(id uint64, run jobRun) {
	if len(sh.jobs) >= maxJobs {
		clear(sh.jobs)
	}
	sh.jobs[id] = run
}
