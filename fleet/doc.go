// Package fleet is fleet mode: several tilesyncd that share one Mapbox
// account, or one drop folder, coordinate through one Redis (version 7).
// Its one job is what the nodes must agree on: one rate budget for the
// account, and for shared folders one holder at a time per tileset and one
// ledger of what each tileset holds.
//
// # What it gives
//
// Open joins the fleet: it connects (redis:// or rediss://), pings, and
// registers the node with a heartbeat renewed in the background; Nodes,
// Info and Leases report the fleet (for `tilesyncd check` and status). A
// Redis that does not answer does not stop Open: the node starts unjoined
// (see "When something fails"); only a configuration error, or a Redis that
// answers and refuses the node (its password), fails it.
//
// Fleet.Budget is a ratelimit.Limiter shared by every node: each request
// takes a slot from one GCRA limiter on Redis (github.com/go-redis/redis_rate,
// whose Lua script reads Redis' clock). The limit learned from Mapbox's
// X-Rate-Limit-* headers is published to all nodes; a 429 or transient
// failures set a shared hold that no node sends before; each node keeps its
// own priorities (credentials and create before polls, without starving
// polls; housekeeping last, and only into a slot the fleet left unused).
// See Budget. Fleet.PublishBudget is a second one, on keys of its own, for
// MTS publishes (2 a minute per account, apart from the other requests).
//
// Leases (Acquire, TryAcquire) give one node at a time a tileset of a
// shared folder, for a time to live renewed in the background
// (github.com/bsm/redislock obtains and renews the lock), with a fencing
// token that grows with every acquisition. A lease taken from a holder that
// let it expire is reported by Lease.TookOver: the caller then resolves that
// holder's intent through the Mapbox list, as a restart does, so that a
// create is never sent twice.
//
// The ledger records per tileset the content it holds (hash and upload ID:
// Holds, Held, Lease.RecordHeld) and, before each create, the intent (node,
// hash, staged URL or MTS source, time: Lease.SetIntent, Fleet.Intent,
// Lease.ClearIntent).
// Writes are fenced: a Lua script refuses a write whose token is older than
// the tileset's current one, or whose lock is gone (ErrFenced, ErrLeaseLost).
//
// # What Redis holds
//
// Every key of a group starts with tilesyncd:{GROUP}: (the braces are a
// Redis Cluster hash tag: one group, one slot). Nothing secret: no token, no
// password, no file contents, no credentials; file contents are known by
// their hash, staged objects by their URL (refused if it carries a query or
// user information).
//
//	tilesyncd:{G}:nodes               sorted set: node name → heartbeat expiry (ms, Redis clock)
//	tilesyncd:{G}:node:NAME           hash: instance (random per process), beat (ms); TTL = heartbeat TTL
//	tilesyncd:{G}:epoch               random ID set once: its change means Redis lost its data
//	rate:tilesyncd:{G}:budget         redis_rate's GCRA state (theoretical arrival time); TTL
//	tilesyncd:{G}:limit               hash: limit, interval_ms, node: the account's limit as learned
//	tilesyncd:{G}:hold:rate           a 429's hold: the key's TTL is the time left; value: the node
//	tilesyncd:{G}:hold:outage         the shared outage backoff, likewise
//	tilesyncd:{G}:outage:streak       transient failures in a row (the backoff doubles with it); TTL
//	rate:tilesyncd:{G}:publish:budget the publish budget's GCRA state (PublishBudget)
//	tilesyncd:{G}:publish:limit …     its limit, holds and streak: publish:limit, publish:hold:rate,
//	                                  publish:hold:outage, publish:outage:streak, as the account's above
//	tilesyncd:{G}:lease:TILESET       the lock (redislock): random token + "@node"; TTL = lease TTL
//	tilesyncd:{G}:fence:TILESET       the tileset's last fencing token (INCR)
//	tilesyncd:{G}:lease-info:TILESET  hash: node, token, state (held|released), since (ms)
//	tilesyncd:{G}:held:TILESET        hash: hash, upload_id, node, token, at (ms)
//	tilesyncd:{G}:intent:TILESET      hash: node, hash, url, token, at (ms)
//
// # Time
//
// Node clocks may be minutes apart. No node's clock reaches Redis: holds
// are TTLs that Redis counts down, times are read with Redis' TIME inside
// the scripts, and a node turns what it reads into local deadlines with its
// monotonic clock. A 429's reset (a time of the node's clock, converted from
// Mapbox's by the client) is sent as a duration.
//
// # When something fails
//
// Redis unreachable (down, partitioned, too slow for Options.Timeout):
// the budget falls back to a local limit of 1/N of the budget, N being the
// nodes alive when last seen, keeping the holds it knows of; it says so in
// Stats (Fallback, Nodes), in the log and in Metrics.Fallbacks, and returns
// to the shared budget at the first heartbeat that reaches Redis. It never
// stops for want of Redis. Leases fail closed: a lease that cannot be
// renewed is lost when its time to live has passed, counted on the node's
// monotonic clock from the start of its last successful renewal (which is
// never later than Redis' own expiry); work on shared folders must then
// pause (Fleet.Reachable says whether Redis answers).
//
// Redis unreachable when the node starts (or reloads): Open logs a warning
// and returns a Fleet that has not joined, as after a failed heartbeat:
// the budgets run in fallback, N being Options.KnownNodes (the count the
// caller kept from Options.NodesSeen in an earlier run; 1 if unknown);
// TryAcquire and the ledger's reads fail at once with ErrUnreachable. The
// heartbeat tries every heartbeat interval (2 s at most) and, at the first
// that reaches Redis, joins: the version check, the twin-node warning,
// "joined the fleet" in the log, and the budgets back on the shared one.
//
// A node dies (SIGKILL): its heartbeat ends and its leases expire after
// their time to live; the next node to acquire them sees a takeover.
//
// Redis restarted with its data (append-only file): nothing is lost. Without
// it: the nodes notice (Metrics.DataLosses, a warning), re-register, and
// republish the limit; leases held are lost (their locks are gone), and
// fencing tokens start again from 1, so writes are also refused when the
// writer's lock is not the current one; the ledger is empty, so content must
// be checked against the Mapbox list again. Run Redis with appendonly yes.
//
// go-redis logs through one logger per process: Open routes it to the
// first Fleet's logger, at debug level.
package fleet
