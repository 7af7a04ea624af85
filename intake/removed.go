package intake

import (
	"strings"

	"github.com/tilesyncd/tilesyncd/state"
)

// removed forgets a file that is gone, after withdrawing it from its
// tileset (see withdraw).
func (in *Intake) removed(key state.FileKey) error {
	return in.withdraw(key, cancelRemoved, "", func() error { return in.store.RemoveFile(key) })
}

// refuse records rec, a file's outcome refused, after withdrawing the file
// from the tileset it went to (see withdraw): its content can no longer be
// sent, as if it were gone.
func (in *Intake) refuse(rec state.FileRecord) error {
	_, known, err := in.store.File(rec.Key)
	switch {
	case err != nil:
		return err
	case !known:
		// A file refused as it first appears (many at a time in a folder
		// of other files) has no job and holds no tileset: one write.
		return in.store.RecordOutcome(rec)
	}
	return in.withdraw(rec.Key, cancelRefused, rec.Reason, func() error { return in.store.RecordOutcome(rec) })
}

// The messages withdraw logs a cancelled job with: constants, so that the
// terminal's handler knows them (internal/console).
const (
	cancelRemoved = "cancelled: the file was removed before it was sent"
	cancelRefused = "cancelled: the file changed into one Mapbox cannot take"
)

// withdraw takes a file that is gone or refused out of the tileset its
// record says it went to, then has record write the file's new record (or
// remove it). Its jobs not yet under way are cancelled with msg (one of
// the cancel constants) and detail (Mapbox's reason, or none) (or
// moved to a copy that holds the same content: a move). If the tileset
// was to hold its content (now or an earlier one, or a content whose job
// the sender cancelled), another file that the rules send to the same
// tileset (a conflict) now decides what the tileset holds: unless one of
// them holds what the tileset will hold now, each is read again once the
// file's record is written, so the tileset does not keep the content of a
// file the folder no longer has (or cannot send) while another file maps
// to it. That costs one pass over the file index, only when the file's
// content was the tileset's to be.
func (in *Intake) withdraw(key state.FileKey, msg, detail string, record func() error) error {
	rec, known, err := in.store.File(key)
	if err != nil {
		return err
	}
	winner := false
	if known && rec.Tileset != "" {
		// The tileset is to hold this file's content: its content now, or
		// an earlier content of it (a newer one never sent: superseded,
		// cancelled or still being read).
		held, from, ok, err := in.store.DestinedFrom(rec.Tileset)
		if err != nil {
			return err
		}
		winner = ok && (rec.SHA256 != "" && held == rec.SHA256 || from == key)
		// Its job cancelled (the sender found the file gone or changed
		// before intake took it): it was the tileset's to be, and never
		// will.
		winner = winner || rec.Outcome == state.OutcomeCancelled
	}
	// A job not yet under way for the file's content need not be sent.
	reason := strings.TrimPrefix(msg, "cancelled: ")
	if detail != "" {
		reason += ": " + detail
	}
	cancelled, err := in.store.SourceWithdrawn(key, reason)
	if err != nil {
		return err
	}
	for _, j := range cancelled {
		in.stats.Cancelled.Add(1)
		in.log.Info(msg, "job", j, "reason", reason)
	}
	var others []state.FileKey
	if winner || len(cancelled) > 0 {
		// The others are marked to be read again before the record
		// changes: an error leaves the record for intake's retry of this
		// event.
		if others, err = in.resendOthers(key, rec.Tileset); err != nil {
			return err
		}
	}
	if err := record(); err != nil {
		return err
	}
	for _, o := range others {
		in.ReadAgain(o) // now that the file competes no more
	}
	return nil
}

// resendOthers returns the files other than key that the rules send to
// tileset, each marked to be read again, unless one of them holds what the
// tileset will hold (then only such holders, so that their records say
// what the tileset holds).
func (in *Intake) resendOthers(key state.FileKey, tileset string) ([]state.FileKey, error) {
	held, _, err := in.store.Destined(tileset)
	if err != nil {
		return nil, err
	}
	var others []state.FileRecord
	err = in.store.Files("", func(o state.FileRecord) error {
		if o.Tileset == tileset && o.Key != key && o.Outcome != state.OutcomeRefused {
			others = append(others, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var holders []state.FileKey
	for _, o := range others {
		if o.SHA256 != held || in.watchOf(o.Key.Watch) == nil {
			continue
		}
		// Another file holds the content: the tileset keeps it. Each holder
		// is read again: one recorded as having lost to the removed file
		// in full, so that its record follows (it joins the job, or is
		// unchanged); the others by the cheap test, which finds one whose
		// MTS recipe changed since (it was passed over while the removed
		// file's job, with the new recipe, was to be the tileset's).
		if o.Outcome == state.OutcomeSuperseded {
			o.ModTime, o.Outcome = 0, ""
			if err := in.store.PutFile(o); err != nil {
				return nil, err
			}
		}
		holders = append(holders, o.Key)
	}
	for _, o := range others {
		if o.SHA256 == held {
			return holders, nil
		}
	}
	var keys []state.FileKey
	for _, o := range others {
		if in.watchOf(o.Key.Watch) == nil {
			continue
		}
		in.log.Info("a file of the tileset was removed; sending another file that maps to it", "tileset", tileset,
			"removed", key.String(), "path", o.Key.String())
		o.ModTime, o.Outcome = 0, "" // read it again, whatever it was
		if err := in.store.PutFile(o); err != nil {
			return nil, err
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}
