// Package convergence checks tilesyncd's one promise with randomized
// histories: once the folders have been quiet and the daemon has finished
// its work, every tileset holds what the folders hold (README, "Guarantees").
// It is a model-based, end-to-end property test in the spirit of Jepsen's
// checkers and TigerBeetle's VOPR; the package holds only this file and its
// tests.
//
// # A history
//
// generate(seed) makes a history, a pure function of its seed: a few files
// (2–4 slots, a quarter of them shapefiles: a bare .shp with its .shx and
// .dbf) over two watch folders a and b, whose stems come from a pool of one
// to three. The rules send a file in a folder named own/ to
// "{watch}-{stem}" and any other to "{stem}", so a move between the top
// levels of a and b keeps the tileset, a move into or out of own/ changes
// it, a rename changes it, and two files of one stem share one (a
// conflict). Then 6–15 steps, each after a short random wait (sometimes
// within the settle time, sometimes while Mapbox processes, sometimes long
// enough for the work to end), drawn from:
//   - file actions: create, edit (one write, a save under a temporary name
//     renamed over the file, or a slow copy in chunks), revert to an earlier
//     version, append, move within a folder or to the other one, rename,
//     delete, re-create; a shapefile's parts are written one by one;
//   - faults: a create refused before it takes effect (FailNext; 500 or
//     503, and a 409 that mapboxsim sends as 500), a create that takes effect answered 502 (FailAfterNext) or with
//     its answer lost (DropAfterNext), lost connections before any effect
//     (DropNext on create, credentials, list, status), the API unreachable,
//     S3 unreachable (a cuttable proxy, chaos.Proxy), a 429 window
//     (RateLimitFor), answers slower than the client's timeout (SetDelay),
//     staging credentials refused or expired, a graceful restart; and for a
//     history run on the real binary, SIGKILL and restart.
//
// Each history picks Mapbox's clock: the daemon's, or ten minutes ahead or
// behind (mapboxsim Options.Clock, a clock.Offset; its Date headers follow).
//
// # MTS
//
// One history in three also carries an MTS rule (the Mapbox Tiling
// Service): files under mts/ of either watch folder go with target: mts
// to "acme.m-{stem}", a one-layer recipe file and, in half of the
// histories run in-process, incremental: true (changesets after the first
// full publish). The choice and everything of the MTS part come from a
// random stream of their own (PCG stream mtsStream, same seed), and its
// steps are merged into the history by time, so the Uploads API part of
// a seed is the history it always was: its steps, their times and its
// end (the history prints them numbered as before, the MTS ones m0, m1…).
// One or two files (GeoJSON FeatureCollections of 8–12 points, one in
// five a CSV with lat/lon columns; from a pool of one or two stems, so two
// files may share a tileset) take the same file actions (no append), and
// edits that change one feature (a changeset), add or remove one, change
// every one or drop the ids (full publishes), or leave no feature (the
// daemon refuses it). MTS faults: a publish (or publish-changesets)
// refused before it takes effect, answered 502 after it took effect, or
// its answer lost; a source or changeset upload refused or cut midway; a
// 429 window on MTS endpoints (RateLimitMTSFor); jobs held queued
// (StallJobs); the recipe's maxzoom edited (the in-process daemon
// restarted on it, as Supervise would; not in a binary's history). Each
// MTS history picks the jobs' queue and processing times, and sometimes
// queued jobs lock their source; the daemon's own processing job makes
// a change's source replace meet a 409. The Uploads API's faults that
// are not about creates (the API unreachable, slow answers, 429 windows,
// restarts, SIGKILL) reach MTS too. -mts=only (or never), or
// $TILESYNCD_CONVERGENCE_MTS, gives every history an MTS part (or none).
//
// # Playing it
//
// Each history has its own world: a mapboxsim server on an in-process S3
// store, real folders in a temporary directory, a real bbolt state and the
// production client over HTTP. One history in ten runs the real binary
// (built once by TestMain) so that it can be SIGKILLed; the others run the
// daemon in the test process (daemon.Open and Run) with a test's pace:
// fast polls and retries and a one-second wait for answers. After the last
// step (and a last random wait) every fault is cleared, a binary still
// running is SIGKILLed, and the daemon runs in this process to the end, so
// that its queue can be asked.
//
// # The oracle
//
// The runner observes the folders after every change it makes (the
// timeline): for each file the rules send to a tileset (plan.Decide, as
// the daemon decides), the SHA-256 of the bytes the daemon must send, the
// zip format.ZipShapefile makes for a shapefile. When the folder has been
// untouched for three settle times, the daemon's watchers have nothing
// settling or waiting for intake, its intake is not taking a file
// (Intake.Busy: a state database slow to write under load holds it
// there), it has nothing queued or in flight (Syncer.Idle), Mapbox
// processes nothing and no request came for a moment, the oracle checks,
// from the server's own record:
//   - every tileset that a file maps to holds (mapboxsim Server.Holds: the
//     upload whose successful completion was the latest) exactly that
//     file's bytes; where files conflict, the README's rule
//     (TestConflictRuleIsTheREADMEs) says which: the file that changed last
//     (changes closer than two settle times count in either order, and a
//     move within the tileset may count as a change or not), or any of them
//     once a file of the tileset has gone away since;
//   - the state records each such file as uploaded or unchanged with those
//     bytes, and plan would call it unchanged (intake.Settled, what `plan`
//     and `status` read); a conflict's loser may be recorded superseded;
//   - the state's consistency check passes, and the token is in no log;
//   - no upload holds content that was never in the folders for its tileset;
//   - no create is needless: none of content the tileset held already when
//     it was created, and none of content created before for the tileset
//     unless something else was created since and the folder went back to
//     it after that other content appeared.
//
// For an MTS file the timeline keeps what it converts to (convert.Convert,
// as the daemon does) and the rule's recipe; content is the features and
// the recipe together. The simulator records each job's input by the
// SHA-256 of the source (or changeset) it read; for an incremental rule
// the oracle also records every source and changeset file the daemon
// uploads, off its HTTP transport (daemon.Options.HTTPClient; the binary
// cannot be, so incremental histories run in-process), and replays:
// the features of the source the last full job read, then each later
// successful changeset job's changeset applied by feature id, in the
// order the jobs ran. Once quiet:
//   - every MTS tileset a file maps to was last built (mapboxsim
//     Server.HoldsMTS) from that file's current features and the current
//     recipe: the converted bytes' SHA-256 for a full-publish rule, the
//     replayed features (canonical JSON, by id) for an incremental one;
//     conflicts as above (a recipe edited is no change of a file);
//   - the state records the file published or unchanged with its content
//     hash (state.MTSContentHash) and plan calls it unchanged; a
//     conflict's loser may be recorded superseded, or with its bytes under
//     a recipe the tileset had before; a file the daemon cannot convert (no
//     feature) is recorded refused, and no job is built from it;
//   - no MTS job failed, none built features that were never in the
//     folders for its tileset, and no publish was needless, judged as
//     creates are (a publish of what the tileset held when it was sent,
//     or of content published before when the folder never went back to
//     it); needless publishes are counted apart.
//
// Quiet also waits for every MTS job to end. Quiet must last half a
// second with the guarantee holding; a failing guarantee is a divergence
// only once quiet has lasted three full rescans (a missed notification
// has been caught by then), or when nothing settles within 40 s (a daemon
// stuck is a divergence too). So timing cannot make a false divergence,
// only a slower verdict.
//
// # Running it
//
//	go test -race ./convergence/                         # 200 histories (CI)
//	TILESYNCD_CHAOS=full go test ./convergence/           # 10,000 (make chaos)
//	go test ./convergence/ -run 'TestConvergence$' -v -seed=N   # replay one history
//
// -seedbase S runs the seeds S, S+1, …; -histories N (or
// $TILESYNCD_CONVERGENCE_HISTORIES) sets the count; $TILESYNCD_CONVERGENCE_SEED
// is -seed. Histories run 8 at a time (16 at full counts) unless -parallel
// says otherwise. The run ends with one line:
//
//	convergence: N histories, D divergences, X needless creates, seed base S; M with MTS, P needless publishes
//
// A divergence report holds the seed and how to replay it, the history with
// the time each step began, what the folders hold, what each tileset holds,
// the server's uploads and create requests, the MTS jobs with what each
// built and the MTS requests that move content, the divergences, and the
// daemon's log (whole, in a file).
//
// # Caveats
//
// A seed fixes the history, not the interleaving: the daemon's goroutines
// and the waits race as they would for a user, so a replay may take another
// path (run it a few times). Each failure found stays as a named, scripted
// test (regression_test.go). Not injected: a 401 (the daemon waits five
// minutes before it tries a refused token again) and a 429 without rate
// headers (it waits a minute); uploads made by others to the same tilesets
// and a state database deleted without adopt are outside the guarantee.
// MTS: a tileset whose files conflict while one of them is refused is not
// judged (the README does not say which wins); a recipe is edited only
// between whole restarts; a job's content is unknown to the checker until
// it starts (a superseded job is judged by nothing); only one-layer
// recipes; the recording reads only PUT uploads (tilesyncd sends each
// source as one file). Its first large run found a divergence of the
// daemon, since mended (syncer/mts_late.go): a source replace whose answer
// was slower than the client's timeout landed at Mapbox after a newer
// replace, and the publish that followed built the stale content
// (seeds 31272 and 31292 with -mts=only, TestMTSLateSourceReplace). A
// restart within the quiet time after such a replace is not covered.
package convergence
