// Package syncer is tilesyncd's pipeline: from "this file is ready" to "Mapbox
// has processed these bytes", once, as cheaply as the API allows, whatever the
// network, the API and the process do in between.
//
// A ready file goes through intake (Ingest): the same rules as `tilesyncd plan`
// refuse what cannot succeed; a file whose size, modification time and file ID
// match a record that says it is done is skipped without being read; otherwise
// it is hashed (a shapefile is first zipped, deterministically, with its parts),
// and content its tileset will hold once its queue drains is skipped (or
// joins the job that sends it); the rest is queued in the state database,
// one job per (tileset, content), the newest content of a tileset replacing
// an older one still queued. A job whose content the tileset already holds
// by the time its turn comes is not sent. When a file is removed, its jobs
// not yet under way are dropped (or moved to a copy of it: a move), and if
// its tileset was to hold its content, the other files that map to the
// tileset (a conflict) are read again, so the tileset follows the folder.
// A file the state knows that a watch folder's startup scan (or sync
// --once's walk) did not meet was removed while tilesyncd was stopped, and
// is handled as such. A worker that finds a file changed or gone under its job has intake read
// the file again (readAgain): the watcher may have reported the change
// already, while the job still held the old content. A file intake cannot read, or
// cannot record because the state database fails, is taken again later with
// a growing delay (Backoff, up to its maximum): the watcher does not report
// an unchanged file twice, so nothing else would.
//
// Intake reads every file through its watch folder (watcher.Folder): opened
// once, never through a link that leaves the folder unless the folder says
// follow_links, never blocking on a named pipe, refused unless what was
// opened is a regular file. A shapefile is zipped from the descriptors of
// the parts that were checked; it is refused, before a byte reaches the
// spool, when its parts together are too large (format.ShapefileSizeRefusal)
// or the spool's filesystem has not room for the zip and a margin. Hashing
// and zipping check the context between chunks, so a stop or a reload during
// a 20 GB hash takes effect at once.
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
