package mapboxsim

import "time"

// UploadRecord is what the server knows of one created upload, at the
// server clock's now.
type UploadRecord struct {
	ID      string
	Tileset string
	Key     string
	// SHA256 is the hex SHA-256 of the staged object when the upload was
	// created; empty when the object did not exist.
	SHA256  string
	Size    int64
	Created time.Time
	// Finished is when processing ended on the server clock: Created plus
	// the processing time (Created for a missing object, which fails at
	// once); zero while the upload is processing.
	Finished time.Time
	// Complete reports that processing has ended and succeeded: the tileset
	// took these bytes at Finished.
	Complete bool
	// Error is the processing outcome ("" for success), decided at create.
	Error   string
	Deleted bool
}

// record is the upload's UploadRecord at now.
func (u *upload) record(now time.Time) UploadRecord {
	r := UploadRecord{ID: u.id, Tileset: u.tileset, Key: u.key, SHA256: u.sha256,
		Size: u.size, Created: u.created, Error: u.failure, Deleted: u.deleted}
	if u.done(now) {
		r.Finished = u.finish()
		r.Complete = u.failure == ""
	}
	return r
}

// Uploads lists every upload created, in creation order, deleted ones
// included: the record that proves each file was uploaded exactly once.
func (s *Server) Uploads() []UploadRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]UploadRecord, 0, len(s.order))
	for _, u := range s.order {
		out = append(out, u.record(now))
	}
	return out
}

// Holds returns the upload whose successful completion was the latest for
// tileset at the server's now: the content the tileset holds, what a
// checker compares with the folder. ok is false when no upload to the
// tileset has succeeded yet. A failed upload leaves the tileset as it was;
// deleting an upload's status does not change the tileset, so deleted
// uploads count.
//
// The latest is by Finished, then by creation order. Since Create refuses a
// new upload while one to the same tileset is processing, the uploads of
// one tileset never overlap and both orders agree, unless a test moves the
// server clock backwards.
func (s *Server) Holds(tileset string) (UploadRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var best *upload
	for _, u := range s.order {
		if u.tileset != tileset || !u.done(now) || u.failure != "" {
			continue
		}
		if best == nil || !u.finish().Before(best.finish()) {
			best = u
		}
	}
	if best == nil {
		return UploadRecord{}, false
	}
	return best.record(now), true
}
