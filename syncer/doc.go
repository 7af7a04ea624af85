// Package syncer is tilesyncd's pipeline: from "this file is ready" to "Mapbox
// has processed these bytes", once, as cheaply as the API allows, whatever the
// network, the API and the process do in between.
//
// A ready file goes through intake (Ingest): the same rules as `tilesyncd plan`
// refuse what cannot succeed; a file whose size, modification time and file ID
// match a record that says it is done is skipped without being read; otherwise
// it is hashed (a shapefile is first zipped, deterministically, with its parts),
// and content its tileset already has is skipped; the rest is queued in the
// state database, one job per (tileset, content), the newest content of a
// tileset replacing an older one still queued. A file intake cannot read, or
// cannot record because the state database fails, is taken again later with
// a growing delay (Backoff, up to its maximum): the watcher does not report
// an unchanged file twice, so nothing else would.
//
// Workers take runnable jobs in queue order, at most one per tileset, and move
// each through its stages, every change one transaction: credentials, resumable
// staging to S3 (each part persisted; the hash of the bytes sent must equal the
// queued hash, or the file changed and the job is cancelled until it settles
// again), create (its intent recorded before it is sent, and its answer in the
// same transaction that marks the job processing). A crash between sending a
// create and storing its answer is resolved on restart by looking the upload up
// in Mapbox's list before creating again: the same bytes are never uploaded twice.
//
// One poller watches every processing upload with one list request (up to 100
// uploads an answer), asking for a single upload only when the list does not
// cover it. Its pace adapts: soon after a create, then backing off, and slower
// while other work is waiting for the API budget.
//
// Every API request passes one Budget, which spaces requests at the account's
// rate, holds everything after a 429 until the reset, and puts every request
// behind one shared backoff while the API is unreachable.
//
// Errors are handled by class (mapbox's sentinels): transient ones back off
// per job with jitter, persisted; a busy tileset waits; expired staging
// credentials are replaced; a token that is refused stops all sending, loudly,
// and keeps the queue; invalid requests and processing failures are permanent
// for those bytes, reported, and not retried until the file changes.
package syncer
