// Package state is tilesyncd's memory across restarts, crashes and power
// loss: the file index, the tileset records, the durable job queue and the
// upload history, in one bbolt database file.
//
// # Guarantees
//
// Every write method is one bbolt Update transaction, fsynced before it
// returns (NoSync stays off): a crash leaves the state of the last committed
// call, never half of one. Enqueue's coalescing, a stage change, and Done's
// four effects (job removed, tileset record, file outcome, history) each
// happen in one transaction. Invalid transitions return ErrInvalidTransition
// and change nothing.
//
// Open refuses a database on a network or FUSE filesystem (ErrNetworkFS,
// decided by CheckFilesystem from fstype.Detect), fails within
// Options.LockTimeout (default 3 s) with ErrLocked while another process holds
// the file (bbolt's flock, per open file description: a second Open in the
// same process is refused too), refuses a newer schema (ErrNewerSchema),
// migrates an older one in one transaction, and reports a damaged file as
// ErrCorrupt with what to do: move the file aside and restart. tilesyncd then
// rescans; recognising content Mapbox already has (so nothing is uploaded
// twice after losing the database) is the syncer's part. Open runs bbolt's
// page check and Check, so it reads the whole file once (about 50 ms for
// 100,000 files here; 290 ms while file records were JSON).
//
// # Damaged files
//
// Opening and checking a damaged file must neither crash nor hang the
// process. Open first compares the file's length with its meta pages (a
// truncated file would be mapped and kill the process with SIGBUS on the
// first read past its end). Then a Checker checks the pages before Open maps
// the file itself: bbolt's Check walks them in a goroutine of its own, where
// SetPanicOnFault does not reach, so a bad page there is a SIGSEGV, and a
// cycle of pages or a huge overflow count is a walk that does not end.
// CheckProcess, which tilesyncd's main sets with SetDefaultChecker, runs the
// walk in a child process: the program re-executed with
// TILESYNCD_STATE_CHECK naming the file, which CheckProcessMain (first thing
// in main, or in a test binary's TestMain) recognises. The child opens the
// file read-only, says so, then runs bbolt's Check and Check side by side
// and prints what it found; the parent kills it past its timeout (5 s plus
// 1 s per 64 MB, counted from the open, after the file was read ahead into
// the page cache). A crash, a kill or a report of damage is ErrCorrupt, with
// the advice. The parent then opens the file and uses it only if it is the
// same file at the same transaction the child checked (if another process
// wrote in between, it checks again); it does not repeat the check. The
// child costs its start-up and a second mapping of the file, less the
// checks it runs side by side: at 100,000 files Open takes 10–30 ms more
// than the in-process check here (BenchmarkOpen: best of five 57 ms against
// 45 ms on a busy 2-core machine).
//
// With no Checker (library users, tests of other packages), Open checks in
// its own process: panics and faults in its own goroutine are recovered, but
// not those in bbolt's checking goroutine. Once the file is open, a read
// that faults (the file damaged under a running process, by something other
// than tilesyncd) fails with ErrCorrupt rather than killing the process:
// every transaction runs with SetPanicOnFault, and the fault's panic is
// recovered; other panics are bugs and go on.
//
// Caveat: bbolt has no checksums on data pages. Damage that leaves records
// that decode and consistent indexes (a changed hex digit in a hash) is not
// detected; it costs at most one unnecessary upload or one missed skip.
// SIGKILL is what the crash test simulates; power loss relies on fsync and
// on the disk honouring it, as bbolt does.
//
// # Layout (schema 3)
//
// Records are JSON but for file records, which are binary (filecodec.go:
// there is one per watched file, and each Open and sync --once decodes them
// all); keys are ordered for prefix scans.
//
//	meta                 "schema" → uint64 big-endian; "paused" → JSON array of
//	                     the paused watch folders (paused.go; absent: none)
//	files                watch NUL path → FileRecord (binary)
//	tilesets             tileset ID → TilesetRecord (last successful upload)
//	jobs                 uint64 ID (bucket sequence) → Job; key order is queue order
//	jobs_by_tileset      tileset NUL uint64 ID → stage byte (index: is the tileset busy?)
//	history              uint64 seq → HistoryEntry (global, keys consecutive)
//	history_by_tileset   tileset NUL seq → HistoryEntry
//	history_by_file      watch NUL path NUL seq → HistoryEntry
//	outbox               target NUL seq → OutboxEntry (notifications to deliver;
//	                     made on first use, so no schema change: outbox.go)
//
// The file index's pages are split 90% full (bbolt's default 50% doubled
// the file): 100,000 files take about 34 MB (52 MB as JSON), recorded at
// 14–30 µs per file in batches of 1,000 (BenchmarkRecordFiles, a busy 2-core
// machine), looked up in about 6–18 µs each and scanned in about 0.26 µs
// each (BenchmarkLookupFiles).
//
// History is bounded: the global log to Options.GlobalHistoryLimit (10,000),
// each tileset's and file's to Options.HistoryLimit (50), pruned oldest-first
// in the transaction that appends. RemoveFile drops a file's own history.
//
// # The job queue
//
// A job is one (tileset, content). Its stages:
//
//	queued ─StartStaging→ staging ─MarkStaged→ staged ─Created→ processing ─Done→ (removed)
//	staging|staged|processing ─RetryLater→ retry-wait ─Resume→ (the stage it left)
//	any but done ─Fail→ failed ─Retry→ queued
//	queued|staging|staged (no create sent)|retry-wait of those|failed ─Cancel→ (removed)
//
// Per tileset there is at most one job in flight (staging, staged,
// processing, retry-wait), one queued and one failed. Enqueue coalesces so
// that the tileset ends up holding the newest content submitted: content
// equal to the newest job queued or in flight joins it; other content
// replaces a queued job (history: superseded) and a failed one, and joins
// the job in flight if that job sends it, or waits behind it (Next does not
// offer it until the tileset is free). With SkipHeld and nothing queued or
// in flight, content the tileset's last upload holds is recorded unchanged,
// and content its failed job failed for joins that failure. Next(now, n)
// offers queued jobs of free tilesets and due retry-wait jobs in queue
// order; InFlight lists what to resume after a restart; NextWake says when
// the next retry is due.
//
// A file record and the jobs never disagree: a record says pending exactly
// while a job of its tileset queued or in flight sends its content. A file
// that joins a job is listed in Job.Joined; every way a job ends (done,
// failed, cancelled, superseded) gives its outcome to its source and to the
// joined files that still hold its content. Retarget makes a joined file the
// source when the source is gone before staging ends. Check asserts the
// rule; RepairPending mends a database an older version left.
//
// Exactly once: the syncer calls CreateSent (this machine's time and, when
// known, Mapbox's) before sending a create request, ClearCreateSent when the
// attempt proved nothing was created, and Created (upload ID, same
// transaction as the stage change) after. A staged job with CreateSentAt set
// after a restart or a lost answer may exist at Mapbox: look it up by
// tileset and creation time, skipping uploads KnownUpload accounts for,
// before creating again.
//
// # Secrets
//
// To resume a multipart staging upload after a restart, a job keeps the
// temporary S3 credentials Mapbox issued, including the secret key and the
// session token (they expire within hours). The database file is therefore
// created and kept at mode 0600 (Open also tightens an existing file), and
// Credentials, Job and Snapshot never print or serve them: String, GoString
// and LogValue redact, and Snapshot drops them.
//
// # Readers
//
// bbolt allows one process at a time. While the daemon runs, `status` asks
// it over its control endpoint, which serves Snapshot (JSON). With no daemon,
// `status` opens the file with Options.ReadOnly (a shared lock; no migration).
//
// # Testing
//
// statetest.Open(t, opts) opens a database in t.TempDir() and checks and
// closes it at cleanup. The package's tests include a randomized model test
// (store and an in-memory model must agree), a crash test (a child process
// killed with SIGKILL at random moments, 50 times; every reopen passes Check
// and matches the child's fsynced log of committed operations) and a
// benchmark recording and looking up 100,000 files.
package state
