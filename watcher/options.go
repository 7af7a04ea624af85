package watcher

import (
	"fmt"
	"github.com/tilesyncd/tilesyncd/config"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"
)

// Mode is how a watch folder notices changes.
type Mode string

const (
	// Auto polls on network and FUSE filesystems and uses notifications
	// elsewhere (see fstype.Info.Remote).
	Auto Mode = "auto"
	// Notify uses file-change notifications (inotify, kqueue,
	// ReadDirectoryChangesW) through fsnotify, plus the periodic rescan.
	Notify Mode = "notify"
	// Poll walks the folder every PollInterval and compares sizes and
	// modification times.
	Poll Mode = "poll"
)

// Defaults of the Options fields left zero.
const (
	DefaultPollInterval   = 10 * time.Second
	DefaultSettle         = 5 * time.Second
	DefaultMaxSettle      = 10 * time.Minute // or 60×Settle when that is longer
	DefaultRescanInterval = time.Hour
	// DefaultPollMaxShare is the most of one core polling may use (10 %).
	DefaultPollMaxShare = 0.10
)

// Options configure a Watcher. Zero fields take the defaults above.
type Options struct {
	// Root is the watch folder; it is made absolute.
	Root string
	// Mode is Auto when empty.
	Mode Mode
	// Recursive watches the whole tree below Root; otherwise only the files
	// directly in Root.
	Recursive bool
	// PollInterval is the time between two walks in poll mode: the wait
	// from the end of one to the start of the next, stretched when a walk
	// is costly (PollMaxShare).
	PollInterval time.Duration
	// PollMaxShare is the most of one core polling may use, from 0 to 1:
	// after each full scan in poll mode the next waits at least the scan's
	// cost divided by it, so a walk of 1 s at the default 10 % is followed
	// by 12 s of rest however short PollInterval is. The cost is the walk's
	// wall time (which bounds the walking goroutine's CPU time; on a
	// network drive it is mostly waiting, and resting then spares the
	// server too) and a fifth more for the garbage collector's work on the
	// walk's garbage, on another core (up to a sixth at 100,000 files
	// here). Not the process's CPU time, which counts the daemon's other
	// work too. Zero means DefaultPollMaxShare.
	PollMaxShare float64
	// Settle is how long a file's size and modification time must stay
	// unchanged before it is reported ready.
	Settle time.Duration
	// MaxSettle is how long a file that keeps changing is waited for before it
	// is reported anyway, with a warning. At least Settle.
	MaxSettle time.Duration
	// RescanInterval is the time between two full rescans, in every mode.
	RescanInterval time.Duration
	// Ignore says whether a path (slash-separated, relative to Root; isDir for
	// folders) is ignored, and by which pattern. An ignored folder is neither
	// watched nor walked. Nil means config.DefaultIgnore (a watch folder
	// passes its config.Watch.Ignores).
	Ignore func(rel string, isDir bool) (pattern string, ignored bool)
	// FileID, when set, gives a file's identity on its volume from the stat
	// the watcher made of it, for Event.FileID ("" where it has none).
	FileID func(fs.FileInfo) string
	// FollowLinks follows links to files outside Root (see doc.go).
	FollowLinks bool
	// Logger receives the watcher's log; nil discards it.
	Logger *slog.Logger
}

// withDefaults returns o with defaults filled in, or an error naming the first
// invalid field.
func (o Options) withDefaults() (Options, error) {
	if o.Root == "" {
		return o, fmt.Errorf("watcher: no root folder")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return o, fmt.Errorf("watcher: root %s: %w", o.Root, err)
	}
	o.Root = root
	switch o.Mode {
	case "":
		o.Mode = Auto
	case Auto, Notify, Poll:
	default:
		return o, fmt.Errorf("watcher: mode %q: want auto, notify or poll", o.Mode)
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"poll interval", &o.PollInterval, DefaultPollInterval},
		{"settle", &o.Settle, DefaultSettle},
		{"rescan interval", &o.RescanInterval, DefaultRescanInterval},
	} {
		if *f.v < 0 {
			return o, fmt.Errorf("watcher: %s %s is negative", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	switch {
	case o.PollMaxShare == 0:
		o.PollMaxShare = DefaultPollMaxShare
	case !(o.PollMaxShare > 0 && o.PollMaxShare <= 1): // NaN too
		return o, fmt.Errorf("watcher: poll max share %v: want a share of one core, above 0 and at most 1", o.PollMaxShare)
	}
	if o.MaxSettle == 0 {
		o.MaxSettle = max(DefaultMaxSettle, 60*o.Settle)
	}
	if o.MaxSettle < o.Settle {
		return o, fmt.Errorf("watcher: max settle %s is shorter than settle %s", o.MaxSettle, o.Settle)
	}
	if o.Ignore == nil {
		o.Ignore = config.DefaultIgnore
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
