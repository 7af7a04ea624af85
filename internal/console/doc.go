// Package console is what a person sees of tilesyncd on a terminal: one
// short line per event of the pipeline, and a live progress bar per file
// being staged.
//
// Handler is a log/slog handler. It knows the pipeline's events by their
// log messages (queued, staging, staged, created, uploaded, unchanged,
// refused, failed, conflict, cancelled, replaced, a retry, a restage…; see
// events.go) and renders each as one line that fits the terminal's width:
//
//	14:02:07 uploaded  parks/city-parks.geojson → demo.city-parks  618 B  d4ea0bfe
//
// the time, a verb, the file (relative to its watch folder) → the tileset,
// the size, the upload ID's first 8 characters, and Mapbox's message when
// there is one. A line never wraps: the file and the tileset are shortened
// in the middle (…), and a message that does not fit goes on up to three
// indented lines of its own. Other records are dropped at the info level
// and shown compactly when they are warnings or errors (or at the debug
// level). Every value that comes from a file name, a configuration or an
// answer passes through terminal.Escape: names come from whoever can write
// to a watch folder.
//
// Display owns the terminal while it runs: it draws one bar per staging in
// flight (bytes sent of the total, the rate over the last seconds, the time
// left) with github.com/vbauerster/mpb/v8, and prints everything written to
// it (the handler's lines, the demo's narrative) above the bars, so that
// nothing tears them. It reads the stagings by polling a function the
// caller gives (the sender's transfers, named from the state), about five
// times a second. It is meant for a terminal only: the caller decides, with
// IsTerminal, whether to start one.
//
// The structured logs (text and JSON) are not this package's: services and
// --log-format text|json keep them as they are.
package console
