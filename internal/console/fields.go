package console

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tilesyncd/tilesyncd/mapbox"
	"github.com/tilesyncd/tilesyncd/terminal"
)

// fields are a record's attributes by their dotted key ("job.path"), their
// values resolved (a state.Job's LogValue is its group of fields).
type fields map[string]slog.Value

func (f fields) add(prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range v.Group() {
			f.add(prefix, ga)
		}
		return
	}
	if a.Key != "" {
		f[prefix+a.Key] = v
	}
}

// raw is the value of the first key set, as a string, not escaped: for
// matching only, never to be shown.
func (f fields) raw(keys ...string) string {
	for _, k := range keys {
		if v, ok := f[k]; ok {
			if v.Kind() == slog.KindString {
				return v.String()
			}
			if err, ok := v.Any().(error); ok && v.Kind() == slog.KindAny {
				return err.Error()
			}
			return v.String()
		}
	}
	return ""
}

// str is the value of the first key set, escaped for the terminal.
func (f fields) str(keys ...string) string { return terminal.Escape(f.raw(keys...)) }

// num is the value of the first key set that holds a number.
func (f fields) num(keys ...string) (int64, bool) {
	for _, k := range keys {
		v, ok := f[k]
		if !ok {
			continue
		}
		switch v.Kind() {
		case slog.KindInt64:
			return v.Int64(), true
		case slog.KindUint64:
			return int64(v.Uint64()), true
		case slog.KindFloat64:
			return int64(v.Float64()), true
		}
	}
	return 0, false
}

// jobID is the ID of the record's job: the "job" group's id, or a "job"
// number (intake's "queued").
func (f fields) jobID() (uint64, bool) {
	n, ok := f.num("job.id", "job")
	return uint64(n), ok && n > 0
}

// uploadID is the first 8 characters of the record's upload ID, escaped.
func (f fields) uploadID() string {
	id := f.raw("upload_id", "job.upload_id")
	if len(id) > 8 {
		id = id[:8]
	}
	return terminal.Escape(id)
}

// problem is what went wrong, for a person: Mapbox's message when there is
// one (an upload's processing error, or the message of an API error), else
// the error or reason as it is; escaped.
func (f fields) problem() string {
	if v, ok := f["err"]; ok && v.Kind() == slog.KindAny {
		if err, ok := v.Any().(error); ok {
			var ae *mapbox.APIError
			if errors.As(err, &ae) && ae.Message != "" && ae.Status != 0 {
				return terminal.Escape(fmt.Sprintf("Mapbox: %s (HTTP %d)", ae.Message, ae.Status))
			}
			return terminal.Escape(err.Error())
		}
	}
	return f.str("err", "reason", "warning")
}

// list is a list value (a []string attribute), not escaped.
func (f fields) list(key string) []string {
	v, ok := f[key]
	if !ok {
		return nil
	}
	if ss, ok := v.Any().([]string); ok {
		return ss
	}
	return []string{strings.Trim(v.String(), "[]")}
}
