package console

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tilesyncd/tilesyncd/terminal"
)

// kind is an event of the pipeline, known by its log message.
type kind int

const (
	unknown kind = iota
	queued
	staging
	staged
	created
	uploaded
	unchanged
	refused
	failed
	conflict
	cancelled
	replaced
	retry
	restage
	resuming
	recovered
	progress
	started
	stopped
	watching
	reload
)

// verbs are the kinds as a line names them (at most verbWidth columns).
var verbs = [...]string{
	queued: "queued", staging: "staging", staged: "staged", created: "created", uploaded: "uploaded",
	unchanged: "unchanged", refused: "refused", failed: "failed", conflict: "conflict",
	cancelled: "cancelled", replaced: "replaced", retry: "retry", restage: "restage",
	resuming: "resuming", recovered: "found", progress: "staging", started: "started",
	stopped: "stopped", watching: "watching", reload: "reload",
}

// messages are the events' log messages, as intake, syncer, watcher and
// daemon write them. TestMessagesAreWritten checks that each is still
// written by one of those packages. A record that carries retry_at is a
// retry, whatever its message.
var messages = map[string]kind{
	"queued":                            queued,
	"staging":                           staging,
	"staged":                            staged,
	"created: Mapbox is processing":     created,
	"uploaded: Mapbox has processed it": uploaded,
	"skip: unchanged":                   unchanged,
	"skip: the tileset already holds this content":                        unchanged,
	"refused: not sent to Mapbox":                                         refused,
	"failed permanently: not retried until the file changes":              failed,
	"conflict: not sent, another file for the same tileset changed later": conflict,
	"conflict: two files map to one tileset, which holds whichever was uploaded last; give them different tilesets in the rules (see tilesyncd plan)": conflict,
	"cancelled": cancelled,
	"cancelled: the file was removed before it was sent":                                                         cancelled,
	"cancelled: the file changed into one Mapbox cannot take":                                                    cancelled,
	"superseded: newer content for the tileset replaces a queued one":                                            replaced,
	"Mapbox could not find the staged bytes: staging them again":                                                 restage,
	"resuming a job interrupted by a stop":                                                                       resuming,
	"found the upload an earlier create made (its answer was lost, or tilesyncd stopped): not creating it again": recovered,
	"staging progress":                             progress,
	"tilesyncd starting":                           started,
	"tilesyncd stopped":                            stopped,
	"watching":                                     watching,
	"SIGHUP: reloading the configuration":          reload,
	"the configuration file changed: reloading it": reload,
	"configuration reloaded: restarting on it":     reload,
}

// event lays the record out, or reports false when it is not shown: a
// record it does not know below warnings (unless the handler shows debug),
// or staging progress that a Display shows.
func (sh *shared) event(r slog.Record, f fields, level slog.Level) (line, bool) {
	k := messages[r.Message]
	if _, ok := f["retry_at"]; ok {
		k = retry
	}
	switch {
	case k == unknown && r.Level < slog.LevelWarn && level > slog.LevelDebug:
		return line{}, false
	case k == unknown:
		return sh.compact(r, f), true
	case k == progress && sh.opts.Progress:
		return line{}, false
	case k >= progress:
		return sh.daemonEvent(k, r, f), true
	}
	return sh.fileEvent(k, r, f), true
}

// fileEvent lays out an event of one file's way to its tileset.
func (sh *shared) fileEvent(k kind, r slog.Record, f fields) line {
	l := line{time: sh.clock(r.Time), verb: verbs[k], file: sh.path(f.raw("job.path", "path")), tileset: f.str("job.tileset", "tileset")}
	id, hasID := f.jobID()
	run := sh.jobs[id]
	if n, ok := f.num("bytes"); ok && n > 0 && hasID && (k == queued || k == staging) {
		run.size = n
		if k == staging {
			run.staging = r.Time
		}
		sh.remember(id, run)
	}
	if run.size > 0 {
		l.facts = append(l.facts, size(run.size))
	}
	if up := f.uploadID(); up != "" && k != staging && k != staged {
		l.facts = append(l.facts, up)
	}
	switch k {
	case staged:
		if d := r.Time.Sub(run.staging); !run.staging.IsZero() && d >= time.Second && run.size > 0 {
			l.detail = "in " + duration(d) + ", " + rate(float64(run.size)/d.Seconds())
		}
	case unchanged:
		l.detail = "not sent again"
	case refused:
		l.detail = f.str("reason")
	case failed:
		if _, ok := f["err"]; ok {
			l.detail = f.problem()
		} else {
			l.detail = "Mapbox: " + f.str("reason")
		}
	case conflict:
		if paths := f.list("paths"); len(paths) > 0 {
			for i, p := range paths {
				paths[i] = sh.path(p)
			}
			l.file = ""
			l.detail = strings.Join(paths, ", ") + ": one tileset for several files (see tilesyncd plan)"
		} else {
			l.detail = "not sent: " + sh.path(f.raw("other")) + " changed later"
		}
	case cancelled:
		l.detail = f.str("reason")
		if l.detail == "" {
			l.detail = strings.TrimPrefix(r.Message, "cancelled: ")
		}
	case replaced:
		l.detail = "replaces the queued " + sh.path(f.raw("superseded_path"))
	case retry:
		l.detail = sh.retryDetail(r, f)
	case restage:
		l.detail = "Mapbox: " + f.str("message")
	case resuming:
		l.detail = "interrupted by a stop"
	case recovered:
		l.detail = "made by an earlier create whose answer was lost"
	}
	if k == uploaded || k == failed || k == cancelled || k == unchanged {
		delete(sh.jobs, id)
	}
	return l
}

// retryDetail says why a job waits and until when.
func (sh *shared) retryDetail(r slog.Record, f fields) string {
	d := terminal.Escape(r.Message)
	if p := f.problem(); p != "" {
		d += ": " + p
	}
	if at, err := time.Parse(time.RFC3339, f.raw("retry_at")); err == nil {
		d += "; again at " + sh.clock(at)
		if wait := at.Sub(r.Time); wait > 24*time.Hour {
			d += " on " + at.In(sh.loc()).Format("2 Jan")
		}
	}
	if n, ok := f.num("attempt"); ok && n > 1 {
		d += fmt.Sprintf(" (attempt %d)", n)
	}
	return d
}

// daemonEvent lays out an event of the daemon as a whole.
func (sh *shared) daemonEvent(k kind, r slog.Record, f fields) line {
	l := line{time: sh.clock(r.Time), verb: verbs[k]}
	switch k {
	case progress:
		l.file, l.tileset = sh.path(f.raw("job.path", "path")), f.str("job.tileset", "tileset")
		sent, _ := f.num("sent_bytes")
		total, _ := f.num("total_bytes")
		if total > 0 {
			l.detail = fmt.Sprintf("%s of %s (%d%%)", size(sent), size(total), sent*100/total)
		}
	case started:
		l.other = "account " + f.str("account")
		if n, ok := f.num("watch_folders"); ok {
			l.facts = []string{plural(n, "watch folder")}
		}
	case stopped:
		l.other = "tilesyncd"
	case watching:
		l.other = f.str("root", "watch")
		l.detail = f.str("mode")
	case reload:
		l.detail = terminal.Escape(r.Message)
	}
	return l
}

// compact lays out a record that is not an event: its level, message, file
// and problem.
func (sh *shared) compact(r slog.Record, f fields) line {
	verb := strings.ToLower(r.Level.String())
	if r.Level == slog.LevelWarn {
		verb = "warning"
	}
	d := terminal.Escape(r.Message)
	if p := sh.path(f.raw("job.path", "path")); p != "" {
		d += ": " + p
	}
	if p := f.problem(); p != "" {
		d += ": " + p
	}
	return line{time: sh.clock(r.Time), verb: verb, detail: d}
}

// path is a file's path below its watch folder, escaped.
func (sh *shared) path(raw string) string { return terminal.Escape(sh.rel(raw)) }

func (sh *shared) loc() *time.Location {
	if sh.opts.Location != nil {
		return sh.opts.Location
	}
	return time.Local
}

// clock is t's time of day, "15:04:05"; now when t is zero.
func (sh *shared) clock(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.In(sh.loc()).Format("15:04:05")
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
