// Package redistest runs a real redis-server for tests: the engine the fleet
// package shares its rate budget, leases and ledger on.
//
// Start(tb, Options{}) starts one server for one test, on a free loopback
// port, with its own temporary folder, an append-only file (appendonly yes,
// appendfsync always, so that what a test wrote survives a SIGKILL) and no
// RDB snapshots (save ""), and an optional password (requirepass, written to
// the server's configuration file, never to its command line). It is ready
// when returned: Start waits, with a deadline, for the server's own "Ready to
// accept connections" line, or for its exit. Kill sends SIGKILL and waits for
// the process; Restart starts it again on the same port, with its data or
// without it (the append-only file and any snapshot removed first), and waits
// for it to be ready again. The server is killed when the test's cleanups
// run, and on Linux by the kernel if the test binary dies first; its output
// is shown when the test failed.
//
// A Proxy is a TCP relay in front of a server, for the failures Redis cannot
// make by itself: Cut closes every connection through it; Partition cuts
// them and closes each new one at once (Redis unreachable, fast errors);
// Blackhole accepts connections and forwards nothing (Redis unreachable,
// timeouts); Heal ends either; SetLatency delays every chunk of bytes, each
// way (a slow Redis). Clients see one stable address across Restarts.
//
// The binary is $TILESYNCD_REDIS_SERVER, else redis-server on PATH (Debian's
// package: apt-get install -y redis-server). When neither is there, tests are
// skipped with a message saying so, unless $CI is set: then they fail, since
// CI must not pass by skipping.
package redistest
