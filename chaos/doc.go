// Package chaos is tilesyncd's fault suite: each scenario drops a set of
// files into a watched folder, injects one fault, waits for quiet and prints
// one line — files dropped / uploaded / duplicates / lost / torn — failing
// unless the last three are zero.
//
// The books are kept by a Ledger: every version of every file written, and
// the tileset it goes to. The verdict compares them with the test server's
// record of every upload created, which carries the SHA-256 of the staged
// bytes (mapboxsim.Server.Uploads):
//   - uploaded: distinct (tileset, content) pairs created whose content is a
//     version written for that tileset;
//   - duplicates: creates repeating such a pair;
//   - lost: files still present whose content now is not what their tileset
//     last received successfully;
//   - torn: uploads whose content matches no version ever written (a mix of
//     versions, or no staged object at all).
//
// The scenarios are tests (chaos/*_test.go). The SIGKILL, disk-full and
// configuration scenarios run the real binary, built once with `go build`,
// as `tilesyncd run --config …` with the token in its environment; the
// others run the daemon in the test process (daemon.Open) with fast retry
// pacing and a one-second response-header timeout, so that faults cost
// seconds. The S3 store is mapboxsim's in-process MemStorage behind a Proxy,
// which can cut the path or slow it down. All traffic stays on 127.0.0.1.
// Every scenario also checks that the token appears nowhere in the daemon's
// log.
//
// Counts: `go test ./chaos/` runs the CI counts (about a minute and a half
// without -race); TILESYNCD_CHAOS=full (make chaos) runs the full ones
// (60 s outages, 10,000 files at once). The disk-full scenario needs to
// mount a tmpfs (root); it skips otherwise.
package chaos
