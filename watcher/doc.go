// Package watcher reports the files of a watch folder that have finished
// arriving, and those removed, for 100,000-file trees on local disks and on
// network drives.
//
// # Use
//
//	w, err := watcher.New(watcher.Options{Root: "/data/drop", Recursive: true})
//	go func() { errc <- w.Run(ctx) }() // blocks until ctx is cancelled
//	for ev := range w.Events() { … }   // closed when Run returns
//
// Run first walks the folder and reports every existing file once (Ready,
// Initial set), then sends InitialScanDone, then reports changes: Ready when a
// new or changed file has settled, Removed when a reported file is deleted or
// renamed away. Status gives the mode in effect and the scan figures for the
// status command.
//
// # Design
//
// One goroutine, Run's, owns all state: there are no locks except around the
// Status snapshot, and fsnotify's own reading goroutine is stopped (and waited
// for, by fsnotify's Close) before Run returns. The state is:
//
//   - an index of the files known to exist, grouped by folder so a folder's
//     path is stored once (about 130 bytes a file; see BenchmarkPollCycle);
//   - a settler (settle.go), the pure debounce logic: a map and a deadline
//     heap of the files still changing. It takes the current time as a
//     parameter, so it is unit-tested without sleeping; the loop asks it for
//     the next deadline and arms a single timer;
//   - an outbox of events not yet taken by the consumer.
//
// Notifications, poll cycles and rescans all come down to "stat this path and
// tell the settler": a notification is never trusted for what it says, only
// as a hint of where to look, so the order and kind of events (which differ
// between inotify, kqueue and Windows) matter little.
//
// Modes. notify uses fsnotify, which is not recursive: every folder gets a
// watch, and a folder that appears is watched and then listed at once, so files
// created in it before the watch existed are not missed. poll walks the tree
// every PollInterval and compares size and modification time. auto (the
// default) polls on network and FUSE filesystems (fstype.Info.Remote) or when
// the filesystem cannot be told, and uses notifications elsewhere. In every
// mode a full rescan runs every RescanInterval, and at once after a
// notification overflow (fsnotify.ErrEventOverflow). When the watch limit is
// reached (ENOSPC from inotify_add_watch; EMFILE with kqueue), the folder falls
// back to polling, logged once with the sysctl to raise
// (fs.inotify.max_user_watches), and Status says "poll (inotify watch limit
// reached)".
//
// Settle. A file is ready when its size and modification time have not
// changed for Settle (a notification of a write counts as a change even if the
// stat looks the same, as with a coarse mtime) and it can be opened for
// reading; it is stat'ed again just before, so a change the watcher did not
// hear of restarts the wait. A file that cannot be opened (Windows: still open
// for writing without sharing; or no permission) is retried with a back-off
// from Settle up to 5 minutes, logged once, never dropped. A file that keeps
// changing is reported after MaxSettle anyway, with Event.Warning set, so a
// log someone keeps appending to cannot block the queue silently; if it then
// keeps changing it is reported again every MaxSettle.
//
// Shapefiles settle as a set. The parts of a shapefile (its .shp and the
// files format.ShapefileSidecar names, same folder and stem, any case)
// are reported only once every part has been unchanged for Settle: a part
// whose own settle time has passed is held while another is still changing
// or waiting to be readable (settler.Due), so parts copied one after another
// with pauses shorter than Settle never reach the consumer, which zips the
// set on any part's report, as a mix of old and new parts. A pause longer
// than Settle cannot be told from two separate edits. A part held for
// MaxSettle is reported anyway, with a warning. At startup an old part is
// not reported at once like other old files, but goes through the same
// check, after the scan has seen its siblings.
//
// Startup. A file found by the startup scan whose modification time is older
// than Settle is already settled (nothing wrote to it for that long) and is
// reported at once: on Windows, network and FUSE filesystems (where a writer
// may hold a file locked without touching it) only if it can be opened; on a
// local Unix filesystem without opening it, since opening fails there only
// for want of permission, which the consumer meets when it reads the file
// (the syncer tries such a file again later). A newer one waits out Settle
// like any other. InitialScanDone therefore follows the last startup file's
// settle time, or MaxSettle at worst; a consumer can take files it knows of
// but was not told about before it as gone.
//
// Backpressure. The watcher never blocks on the consumer and never drops an
// event: events waiting to be taken are kept at most one per path, a newer one
// replacing the waiting one (a Ready then a Removed leaves the Removed), so
// memory stays bounded by the number of files however slow the consumer is.
// While a full scan runs, notifications wait in the kernel's queue; an
// overflow only causes another scan.
//
// Ignore. Options.Ignore (default config.DefaultIgnore: dot files and folders, the
// temporary and lock files of browsers, editors and office suites) is asked
// about every path; an ignored folder is neither watched nor walked. A
// download renamed from "x.zip.part" to "x.zip" is reported as "x.zip".
//
// Renames. A rename gives Removed for the old path (if it had been reported)
// and Ready for the new one after it settles. A renamed folder gives the same
// for each of its files.
//
// Symbolic links. Links to folders are never followed, so a link loop cannot
// hang a walk, and a folder linked twice is not reported twice; nor are
// Windows junctions and other reparse points that are not symbolic links
// (Go reports them as irregular files). Links to regular files inside the
// watch folder are followed: they are reported under the link's path, with
// the target's size and modification time. A link whose target, every link
// on the way resolved, is outside the watch folder is skipped unless
// Options.FollowLinks: anyone who can write to a drop folder could otherwise
// have the service send any file it can read. With FollowLinks, a change to
// a target outside the watched tree is noticed only by the periodic rescan
// (or the next poll), as notifications watch the link's folder, not the
// target's. Dangling and looping links, devices, pipes and sockets are
// skipped.
//
// Reading. The watcher's checks are made before the consumer reads, so they
// cannot stop a link or a named pipe swapped in afterwards. Folder opens a
// watch folder's files by the same rules on the descriptor it returns: under
// the folder (os.Root, which never follows a link out of it), non-blocking
// (a named pipe cannot hang the reader), refused unless the descriptor is a
// regular file. The syncer reads only through it.
//
// # Caveats
//
//   - NFS, SMB and FUSE mounts deliver no notifications for changes made by
//     other machines (nor, for FUSE, reliably for local ones): auto mode polls
//     them. A poll of 100,000 files costs one lstat each, about 0.3 s of CPU
//     locally and much more over a network. The interval adapts to that
//     cost: after each full scan the next waits PollInterval, or the scan's
//     cost divided by PollMaxShare (10 % of a core by default) when that is
//     longer, so polling uses at most that share of one core (an 8 s walk
//     of 1,000,000 files is followed by about 100 s of rest). The cost is
//     the walk's wall time and a fifth more for the garbage collector's
//     work for the walk, beside it on another core (with wall time alone,
//     BenchmarkGrowth in bench/, which measures the whole process, saw
//     8–11 % of a core at 100,000 files). Not the process's CPU time: that
//     counts the daemon's other work, and polling would all but stop while
//     it uploads (a history of the convergence checker caught that). The
//     interval in force is Status.PollEvery; a change of it is logged once
//     at info. A poll then notices a change up to that much later.
//   - A network share that is unmounted leaves an empty mount point: the next
//     scan then reports every file Removed. A folder that cannot be listed
//     (permissions, I/O error) keeps its known files instead.
//   - macOS (kqueue) holds one file descriptor per watched file and folder:
//     large trees exhaust the open-file limit, and the watcher falls back to
//     polling. FSEvents is not used.
//   - Windows (ReadDirectoryChangesW) overflows its buffer under bursts, which
//     triggers a rescan; a file still being written is usually locked, so the
//     readability check holds it back until the writer closes it.
//   - Events for a path inside a folder removed and recreated quickly may be
//     seen as a Removed followed by a Ready.
//   - A scan runs on the watcher's goroutine: the consumer receives nothing
//     while a long poll of a slow network drive runs.
package watcher
