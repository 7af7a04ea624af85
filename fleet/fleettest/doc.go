// Package fleettest holds fleet mode's scenario tests: several real
// tilesyncd (in this process, or the built binary when a test kills one
// with SIGKILL) on one Mapbox account, against the simulator, coordinating
// through a real redis-server (internal/redistest) that the tests kill,
// restart with or without its data, and cut off behind a proxy.
//
// Each scenario is judged from the simulator's own record: every tileset
// holds the bytes its file holds now (mapboxsim.Server.Holds), no
// (tileset, content) was created twice, and no upload holds bytes that
// were never written (Server.Uploads); the budget scenarios also count the
// 429 answers. Nothing here is imported: the package is its tests.
//
// Counts: `go test ./fleet/fleettest/` runs the CI counts (a few SIGKILLs);
// TILESYNCD_CHAOS=full runs the full ones (20 SIGKILLs). Without a
// redis-server the tests skip, unless $CI is set (redistest).
// TILESYNCD_TEST_LOGS=DIR keeps every node's log in DIR, passed or not.
package fleettest
