// Package syncer is tilesyncd's sender: from "this content is queued for
// this tileset" to "Mapbox has processed these bytes", once, as cheaply as
// the API allows, whatever the network, the API and the process do in
// between.
//
// Intake (package intake) queues the jobs and calls Wake; the sender
// declares what it needs of intake as Source. A worker that finds a file
// changed or gone under its job has intake read it again (ReadAgain): the
// watcher may have reported the change already, while the job still held
// the old content.
//
// Workers take runnable jobs in queue order, at most one per tileset, and move
// each through its stages, every change one transaction: credentials, resumable
// staging to S3 (each part persisted; the hash of the bytes sent must equal the
// queued hash, or the file changed and the job is cancelled until it settles
// again), create (its intent recorded before it is sent, and its answer in the
// same transaction that marks the job processing). A crash between sending a
// create and storing its answer, or a lost answer, is resolved by looking the
// upload up in Mapbox's list before creating again: an upload of the tileset
// created since the create was sent, on Mapbox's clock (the client learns
// its offset from the Date header), and not one the state already accounts
// for; the newest such. A create that provably created nothing (a 4xx
// answer, or a request that never left) clears the intent. The same bytes
// are never uploaded twice, and an older upload is never taken for a newer.
//
// A paused watch folder's jobs are not started (SetPaused, pause.go): they
// queue, and go once it resumes; what is already being sent finishes, and
// processing uploads are still polled. The pause is kept in the state.
//
// One poller watches every processing upload with one list request (up to 100
// uploads an answer), asking for a single upload only when the list does not
// cover it. Its pace adapts: soon after a create, then backing off, and slower
// while other work is waiting for the API budget.
//
// Every API request passes one rate budget (mapbox/ratelimit), which spaces requests at the account's
// rate, holds everything after a 429 until the reset, and puts every request
// behind one shared backoff while the API is unreachable.
//
// In fleet mode, a job of a watch folder marked shared first claims its
// tileset from the fleet (Coordinator, shared.go): one node works on a
// tileset at a time, content the fleet's ledger shows the tileset holds is
// not sent, a create is announced (a fenced intent) before it is sent, and
// a node taking over a dead node's tileset resolves that intent through
// Mapbox's list first. Without the fleet's Redis such jobs wait.
//
// Errors are handled by class (mapbox's sentinels): transient ones back off
// per job with jitter, persisted; a busy tileset waits; expired staging
// credentials are replaced; a token that is refused stops all sending, loudly,
// and keeps the queue; invalid requests and processing failures are permanent
// for those bytes, reported, and not retried until the file changes.
//
// A job of an MTS rule (state.Job.Target) goes to the Mapbox Tiling
// Service's target (mts.go) with the same stages and the same guarantees:
// staging replaces its tileset source with the converted bytes intake made;
// creating makes sure of the tileset and its recipe and publishes, the
// intent recorded first and a lost answer found among the tileset's jobs;
// polling reads each publish job. Publishes go one at a time through their
// own budget (2 a minute), and wait while mapbox.mts_max_queued of them
// are queued at Mapbox.
package syncer
