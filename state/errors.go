package state

import "errors"

// Errors returned by Open and by the Store's methods. Callers test them with
// errors.Is; the returned errors wrap them with the path or job concerned.
var (
	// ErrLocked: another process (another tilesyncd) holds the database's lock
	// and did not release it within Options.LockTimeout.
	ErrLocked = errors.New("state database locked")

	// ErrNetworkFS: the database would live on a network or FUSE filesystem,
	// where bbolt's file lock and fsync cannot be trusted.
	ErrNetworkFS = errors.New("state database on a network filesystem")

	// ErrNewerSchema: the database was written by a newer tilesyncd.
	ErrNewerSchema = errors.New("state database was written by a newer tilesyncd")

	// ErrOlderSchema: a read-only open found an older schema, which only a
	// writable open (the daemon) migrates.
	ErrOlderSchema = errors.New("state database needs a migration; start the daemon once")

	// ErrCorrupt: the database file is damaged or inconsistent. The remedy is
	// to move it aside, record with `tilesyncd adopt` the files whose
	// tilesets are current (Mapbox's API cannot say which bytes a tileset
	// holds, so a new database cannot tell by itself), and restart.
	ErrCorrupt = errors.New("state database corrupt")

	// ErrNotFound: no job with that ID (it finished, was superseded, or never was).
	ErrNotFound = errors.New("no such job")

	// ErrInvalidTransition: the job's stage does not allow the operation. The
	// store is unchanged.
	ErrInvalidTransition = errors.New("invalid job transition")

	// ErrHashMismatch: the staged bytes' hash differs from the queued hash.
	ErrHashMismatch = errors.New("staged content differs from the queued content")

	// ErrNewerJob: a failed job cannot be retried because its tileset already
	// has newer work queued or in flight.
	ErrNewerJob = errors.New("tileset already has a newer job")

	// ErrReadOnly: a write on a store opened with Options.ReadOnly.
	ErrReadOnly = errors.New("state database is open read-only")

	// ErrClosed: the store was closed.
	ErrClosed = errors.New("state database is closed")

	// ErrInvalidKey: a tileset ID, watch folder or path is empty or holds a NUL byte.
	ErrInvalidKey = errors.New("invalid key")
)
