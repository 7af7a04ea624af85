// Package intake turns what the watchers report into decisions, file records
// and queued jobs: watcher events in, the state's queue out. The sender
// (package syncer) takes the queue from there.
//
// A ready file is decided by the same rules as `tilesyncd plan`, which refuse
// what cannot succeed; a file whose size, modification time and file ID
// match a record that says it is done is skipped without being read; otherwise
// it is hashed (a shapefile is first zipped, deterministically, with its parts,
// into the spool), and content its tileset will hold once its queue drains is
// skipped (or joins the job that sends it); the rest is queued in the state
// database, one job per (tileset, content), the newest content of a tileset
// replacing an older one still queued. Two files that the rules send to one
// tileset (a conflict) are settled by which changed later.
//
// When a file is removed, its jobs not yet under way are dropped (or moved to
// a copy of it: a move), and if its tileset was to hold its content, the other
// files that map to the tileset are read again, so the tileset follows the
// folder. A file the state knows that a watch folder's startup scan (or sync
// --once's walk, Sync) did not meet was removed while tilesyncd was stopped,
// and is handled as such. The sender asks for a file to be read again
// (ReadAgain) when it finds it changed or gone under its job. A file intake
// cannot read, or cannot record because the state database fails, is taken
// again later with a growing delay: the watcher does not report an unchanged
// file twice, so nothing else would.
//
// Every file is read through its watch folder (watcher.Folder): opened once,
// never through a link that leaves the folder unless the folder says
// follow_links, never blocking on a named pipe, refused unless what was opened
// is a regular file. A shapefile is zipped from the descriptors of the parts
// that were checked; it is refused, before a byte reaches the spool, when its
// parts together are too large (format.ShapefileSizeRefusal) or the spool's
// filesystem has not room for the zip and a margin. Hashing and zipping check
// the context between chunks, so a stop or a reload during a 20 GB hash takes
// effect at once.
//
// Adopt records a file as what its tileset already holds without sending it
// (tilesyncd adopt), and Settled tells `plan` from the state alone whether a
// file needs no upload.
package intake
