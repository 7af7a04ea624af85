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
// One poller watches every processing upload with one list request (up to 100
// uploads an answer), asking for a single upload only when the list does not
// cover it. Its pace adapts: soon after a create, then backing off, and slower
// while other work is waiting for the API budget.
//
// Every API request passes one rate budget (mapbox/ratelimit), which spaces requests at the account's
// rate, holds everything after a 429 until the reset, and puts every request
// behind one shared backoff while the API is unreachable.
//
// Errors are handled by class (mapbox's sentinels): transient ones back off
// per job with jitter, persisted; a busy tileset waits; expired staging
// credentials are replaced; a token that is refused stops all sending, loudly,
// and keeps the queue; invalid requests and processing failures are permanent
// for those bytes, reported, and not retried until the file changes.
package syncer
