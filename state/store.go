package state

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/tilesyncd/tilesyncd/fstype"
	"github.com/tilesyncd/tilesyncd/internal/clock"
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the
	// database before failing with ErrLocked. Zero means 3 seconds.
	LockTimeout time.Duration
	// ReadOnly opens the database for reading only (the `status` command when no
	// daemon runs). It takes a shared lock, so it still fails with ErrLocked
	// while a daemon holds the database, and it does not migrate.
	ReadOnly bool
	// AllowNetworkFS lets the database live on a network or FUSE filesystem.
	// bbolt's locking and fsync are not safe there: for tests and experts only.
	AllowNetworkFS bool
	// Logger receives the store's log lines; nil discards them.
	Logger *slog.Logger
	// Clock stamps what the store records itself; nil: clock.Real.
	Clock clock.Clock
	// HistoryLimit bounds the history kept per tileset and per file (default 50).
	HistoryLimit int
	// GlobalHistoryLimit bounds the global history (default 10,000).
	GlobalHistoryLimit int
	// Checker checks an existing file's pages before Open maps it; nil is
	// the one SetDefaultChecker set, and with none set Open checks in its
	// own process. That in-process check survives a panic and a fault in
	// the opening goroutine, but not one in the goroutine bbolt's Check
	// starts, nor a walk around a cycle of pages: a program that may meet a
	// damaged file (tilesyncd does) sets a CheckProcess.
	Checker Checker
}

// Store is the tilesyncd state database. Its methods are safe for concurrent
// use; each write is one bbolt transaction, fsynced before it returns.
type Store struct {
	db   *bolt.DB
	path string
	log  *slog.Logger
	now  func() time.Time
	opts Options

	mu     sync.RWMutex // guards closed against Close during a call
	closed bool
}

// Bucket names. See doc.go for the layout.
var (
	bucketMeta        = []byte("meta")
	bucketFiles       = []byte("files")
	bucketTilesets    = []byte("tilesets")
	bucketJobs        = []byte("jobs")
	bucketJobsByTS    = []byte("jobs_by_tileset")
	bucketHistory     = []byte("history")
	bucketHistByTS    = []byte("history_by_tileset")
	bucketHistByFile  = []byte("history_by_file")
	bucketOutbox      = []byte("outbox") // made on first use, not in allBucketsCurrent: see outbox.go
	keySchema         = []byte("schema")
	allBucketsCurrent = [][]byte{bucketMeta, bucketFiles, bucketTilesets, bucketJobs, bucketJobsByTS,
		bucketHistory, bucketHistByTS, bucketHistByFile}
)

// SchemaVersion is the layout this code writes. Older layouts are migrated at
// a writable Open; newer ones are refused with ErrNewerSchema.
const SchemaVersion = 3

// Open opens or creates the database at path. It fails with ErrNetworkFS when
// the folder is on a network or FUSE filesystem, with ErrLocked when another
// process holds the database for longer than the lock timeout, with
// ErrNewerSchema for a database of a newer tilesyncd, and with ErrCorrupt when
// the file is damaged or inconsistent. It checks the whole database before
// returning, so it reads the whole file once.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 3 * time.Second
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = 50
	}
	if opts.GlobalHistoryLimit <= 0 {
		opts.GlobalHistoryLimit = 10000
	}
	opts.Clock = clock.Or(opts.Clock)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	path = abs
	dir := filepath.Dir(path)
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open state: %w", err)
		}
	}
	info, err := fstype.Detect(dir)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	if !opts.AllowNetworkFS {
		if err := CheckFilesystem(path, info); err != nil {
			return nil, err
		}
	}
	if opts.ReadOnly {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("open state %s: %w", path, err)
		}
		if fi.Size() == 0 {
			return nil, corrupt(path, errors.New("the file is empty"))
		}
	}
	if err := checkLength(path); err != nil {
		return nil, corrupt(path, err)
	}
	checker := opts.Checker
	if c := defaultChecker.Load(); checker == nil && c != nil {
		checker = *c
	}
	for attempt := 1; ; attempt++ {
		s, err := open(path, opts, checker)
		if errors.Is(err, errChanged) && attempt < 3 {
			continue // another process wrote in between: check again
		}
		if err != nil {
			return nil, err
		}
		s.log.Debug("state opened", "path", path, "fs", info.String(), "read_only", opts.ReadOnly)
		return s, nil
	}
}

// open checks the file with checker (nil: in this process, after opening
// it), opens it and prepares the store.
func open(path string, opts Options, checker Checker) (*Store, error) {
	var checked *FileCheck
	var before os.FileInfo
	if checker != nil {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist), err == nil && fi.Size() == 0:
			// bbolt creates (or initialises) it: there is nothing to check.
		case err != nil:
			return nil, fmt.Errorf("open state %s: %w", path, err)
		default:
			fc, err := checker.CheckFile(path, opts.LockTimeout)
			if errors.Is(err, errNoCheckProcess) {
				opts.Logger.Warn("checking the state file in this process", "path", path, "reason", err.Error())
				break
			}
			if err != nil {
				return nil, err
			}
			checked, before = &fc, fi
		}
	}
	// A fault reading the mapped file becomes a panic that openBolt and
	// prepare recover, rather than the end of the process.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, file, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	if checked != nil {
		if err := sameAsChecked(db, file, before, *checked); err != nil {
			db.Close()
			return nil, fmt.Errorf("open state %s: %w", path, err)
		}
	}
	if !opts.ReadOnly {
		// The file holds staging credentials: keep it private even if it was
		// created by hand or copied with a looser mode.
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("open state %s: %w", path, err)
		}
	}
	s := &Store{db: db, path: path, log: opts.Logger, now: opts.Clock.Now, opts: opts}
	if err := s.prepare(checked); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// CheckFilesystem decides whether a database at path may live on a
// filesystem described by info: it returns an error wrapping ErrNetworkFS for
// network and FUSE filesystems, nil otherwise.
func CheckFilesystem(path string, info fstype.Info) error {
	if !info.Remote() {
		return nil
	}
	return fmt.Errorf("state database %s is on %s, where file locks and fsync cannot be trusted; set the state path to a folder on a local disk: %w",
		path, info, ErrNetworkFS)
}

// openBolt opens the bbolt file, turning a lock timeout into ErrLocked and a
// damaged file (an error or a panic inside bbolt) into ErrCorrupt. It also
// returns the file bbolt opened.
func openBolt(path string, opts Options) (db *bolt.DB, file *os.File, err error) {
	// bbolt may panic on a damaged file; its file (and the lock on it) is
	// then closed here, so that the process can open another database.
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				file.Close()
			}
			db, file, err = nil, nil, corrupt(path, fmt.Errorf("bbolt panicked: %v", r))
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly, OpenFile: openFile})
	switch {
	case err == nil:
		return db, file, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, fmt.Errorf("another tilesyncd is using %s (waited %s): %w", path, opts.LockTimeout, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, nil, corrupt(path, err)
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return nil, nil, fmt.Errorf("open state: %w", err)
	}
	return nil, nil, corrupt(path, err)
}

// damageError is ErrCorrupt with its cause and what to do.
type damageError struct {
	path  string
	cause error
}

func (e *damageError) Error() string {
	return fmt.Sprintf("state database %s is damaged (%v); move it aside (mv %s %s.damaged), then run 'tilesyncd adopt' to record the files whose tilesets are current without sending them again, and restart",
		e.path, e.cause, e.path, e.path)
}

func (e *damageError) Unwrap() error { return ErrCorrupt }

// corrupt reports the file at path damaged by cause, unless cause already
// says so.
func corrupt(path string, cause error) error {
	if d := (*damageError)(nil); errors.As(cause, &d) {
		return d
	}
	return &damageError{path: path, cause: cause}
}

// prepare checks the file's structure unless checked says a Checker did,
// creates or migrates the schema, and runs the consistency check unless the
// Checker ran it on the same transaction.
func (s *Store) prepare(checked *FileCheck) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(s.path, fmt.Errorf("bbolt panicked: %v", r))
		}
	}()
	if checked == nil {
		if err := s.boltCheck(); err != nil {
			return corrupt(s.path, err)
		}
	}
	version, err := s.schemaVersion()
	if err != nil {
		return corrupt(s.path, err)
	}
	switch {
	case version > SchemaVersion:
		return fmt.Errorf("state database %s has schema %d, this tilesyncd knows up to %d; upgrade tilesyncd or move the file aside: %w",
			s.path, version, SchemaVersion, ErrNewerSchema)
	case version == 0 && s.opts.ReadOnly:
		return fmt.Errorf("state database %s is empty: %w", s.path, ErrOlderSchema)
	case version < SchemaVersion && s.opts.ReadOnly:
		return fmt.Errorf("state database %s has schema %d, this tilesyncd writes %d: %w", s.path, version, SchemaVersion, ErrOlderSchema)
	case version < SchemaVersion:
		if err := s.db.Update(func(tx *bolt.Tx) error { return migrate(tx, version, s.log) }); err != nil {
			return fmt.Errorf("migrate state database %s from schema %d: %w", s.path, version, err)
		}
	}
	if checked != nil && checked.Store && version == SchemaVersion {
		return nil
	}
	if err := s.Check(); err != nil {
		return corrupt(s.path, err)
	}
	return nil
}

// boltCheck runs bbolt's structural check of every page, recovering a panic
// of a badly damaged file.
func (s *Store) boltCheck() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt panicked: %v", r)
		}
	}()
	return s.db.View(func(tx *bolt.Tx) error {
		var errs []error
		for e := range tx.Check() {
			if len(errs) < 5 {
				errs = append(errs, e)
			}
		}
		return checkFindings(errs)
	})
}

// checkFindings words what bbolt's page check found as one error on one
// line, or nil: a panic its check recovered ("panic: …") is said as the
// check's, so that no line of the refusal reads as tilesyncd crashing.
func checkFindings(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	said := make([]string, len(errs))
	for i, e := range errs {
		msg := strings.Join(strings.Fields(e.Error()), " ")
		if reason, ok := strings.CutPrefix(msg, "panic: "); ok {
			msg = "the page check panicked: " + reason
		}
		said[i] = msg
	}
	return errors.New(strings.Join(said, "; "))
}

func (s *Store) schemaVersion() (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if k, _ := tx.Cursor().First(); k == nil && tx.Bucket(bucketJobs) == nil {
				return nil // fresh file
			}
			return errors.New("no meta bucket")
		}
		b := meta.Get(keySchema)
		if len(b) != 8 {
			return fmt.Errorf("schema version is %d bytes", len(b))
		}
		v = int(u64(b))
		return nil
	})
	return v, err
}

// Path is the database file's absolute path.
func (s *Store) Path() string { return s.path }

// Close closes the database. Writes in progress finish first.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close state %s: %w", s.path, err)
	}
	return nil
}

// update runs fn in one write transaction, refusing on a read-only store.
// A memory fault reading the file rolls it back and returns ErrCorrupt.
func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	defer s.faulted(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return s.db.Update(fn)
}

// view runs fn in one read transaction. A memory fault reading the file
// returns ErrCorrupt.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	defer s.faulted(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return s.db.View(fn)
}

// faulted, deferred, turns the panic of a memory fault (SetPanicOnFault's,
// which carries the faulting address) into ErrCorrupt. Other panics are
// bugs: they go on.
func (s *Store) faulted(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(interface{ Addr() uintptr }); ok {
		*err = corrupt(s.path, fmt.Errorf("reading it faulted at %#x", f.Addr()))
		s.log.Error("state file damaged under a running tilesyncd", "path", s.path, "err", (*err).Error())
		return
	}
	panic(r)
}
