package fleet

import "github.com/redis/go-redis/v9"

// The fleet's Lua scripts. Each runs atomically on the server and reads the
// time with Redis' TIME, never a node's clock: times are milliseconds of the
// server's clock, and durations are TTLs the server counts down.

// luaNow sets now to the server's time in milliseconds.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// heartbeat registers a node for ttl ms and prunes the dead.
// KEYS: nodes, node:NAME, epoch. ARGV: name, instance, ttl ms, a new epoch.
// Returns {nodes alive, the instance that beat for this name before ("" if
// none), the epoch, the server's time}.
var heartbeatScript = redis.NewScript(luaNow + `
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local prev = redis.call('HGET', KEYS[2], 'instance')
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], 'instance', ARGV[2], 'beat', now)
redis.call('PEXPIRE', KEYS[2], ttl)
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  redis.call('SET', KEYS[3], ARGV[4])
  epoch = ARGV[4]
end
return {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), prev or '', epoch, now}
`)

// nodes lists the live nodes.
// KEYS: nodes. ARGV: the node key prefix (node:).
// Returns {now, name, expiry, last beat, name, expiry, last beat, ...}.
var nodesScript = redis.NewScript(luaNow + `
local out = {now}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
for i = 1, #live, 2 do
  local beat = redis.call('HGET', ARGV[1] .. live[i], 'beat')
  table.insert(out, live[i])
  table.insert(out, tonumber(live[i + 1]))
  table.insert(out, tonumber(beat or '0'))
end
return out
`)

// leave removes a node at Close.
// KEYS: nodes, node:NAME. ARGV: name, instance.
var leaveScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'instance') == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
end
return 1
`)

// hold extends a hold key to at least ttl ms.
// KEYS: the hold key. ARGV: ttl ms, the node setting it.
// Returns the hold's remaining ms.
var holdScript = redis.NewScript(`
local ttl = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left < ttl then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
  return ttl
end
return left
`)

// outage counts one more transient failure in a row and holds every node
// for the shared backoff: min·2^(n-1), capped at max, with the upper half
// jittered by the caller's fraction.
// KEYS: hold:outage, outage:streak. ARGV: min ms, max ms, jitter in [0,1], node.
// Returns {failures in a row, the hold's remaining ms}.
var outageScript = redis.NewScript(`
local minms, maxms, jitter = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], maxms * 4)
local d = minms
for i = 2, n do
  d = d * 2
  if d >= maxms then d = maxms break end
end
d = math.floor(d / 2 + jitter * d / 2)
if d < 1 then d = 1 end
local left = redis.call('PTTL', KEYS[1])
if left < d then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', d)
  left = d
end
return {n, left}
`)

// sharedState reads what every node needs before taking a slot.
// KEYS: hold:rate, hold:outage, limit.
// Returns {rate hold ms, outage hold ms, limit, interval ms, node that published it}.
var sharedStateScript = redis.NewScript(`
local l = redis.call('HMGET', KEYS[3], 'limit', 'interval_ms', 'node')
return {math.max(redis.call('PTTL', KEYS[1]), 0), math.max(redis.call('PTTL', KEYS[2]), 0),
  tonumber(l[1] or '0'), tonumber(l[2] or '0'), l[3] or ''}
`)

// idleSlot takes a slot of a budget's GCRA limiter for housekeeping: only
// when the slot before went unused, that is when the limiter's theoretical
// arrival time (TAT) is at least one emission interval in the past.
// redis_rate (v10's allowN, Burst 1) grants a slot when TAT <= now and
// stores now + interval; this script reads and writes the same key in the
// same format (seconds since 2017-01-01 as a number, with the same TTL), so
// that both see each other's slots (TestIdleSlotSharesRedisRateKey).
// KEYS: the limiter's key (rate:…). ARGV: rate, period in seconds.
// Returns {1, "-1"} when granted, else {0, seconds to wait (a string)}.
var idleSlotScript = redis.NewScript(`
local emission = tonumber(ARGV[2]) / tonumber(ARGV[1])
local t = redis.call('TIME')
local now = (t[1] - 1483228800) + (t[2] / 1000000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now - emission then
  return {0, tostring(tat + emission - now)}
end
redis.call('SET', KEYS[1], now + emission, 'EX', math.ceil(emission))
return {1, '-1'}
`)

// acquired runs once a node obtained a tileset's lock: it takes the next
// fencing token and records the holder, and says who held it before and
// whether they released it.
// KEYS: fence, lease-info. ARGV: node.
// Returns {token, the previous state ("held", "released" or ""), the previous node}.
var acquiredScript = redis.NewScript(luaNow + `
local token = redis.call('INCR', KEYS[1])
local prev = redis.call('HMGET', KEYS[2], 'state', 'node')
redis.call('HSET', KEYS[2], 'node', ARGV[1], 'token', token, 'state', 'held', 'since', now)
return {token, prev[1] or '', prev[2] or ''}
`)

// fenceCheck is the start of every fenced script: it refuses, with
// {-1, current token}, a holder whose token is older than the tileset's
// current one, and, with {0, current token}, one whose lock is gone.
// KEYS[1]: the lock, KEYS[2]: the fence. ARGV[1]: the lock's value, ARGV[2]: the token.
const fenceCheck = luaNow + `
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) < current then return {-1, current} end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, current} end
`

// checkScript confirms a lease: {1, token} while it holds.
var checkScript = redis.NewScript(fenceCheck + `
return {1, current}
`)

// releaseScript releases a lease and marks it released in lease-info.
// KEYS: lock, fence, lease-info.
var releaseScript = redis.NewScript(fenceCheck + `
redis.call('DEL', KEYS[1])
if redis.call('HGET', KEYS[3], 'token') == ARGV[2] then
  redis.call('HSET', KEYS[3], 'state', 'released', 'since', now)
end
return {1, current}
`)

// recordHeldScript records the content a tileset holds, and clears an
// intent for the same hash. KEYS: lock, fence, held, intent.
// ARGV: value, token, node, hash, upload ID.
var recordHeldScript = redis.NewScript(fenceCheck + `
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'hash', ARGV[4], 'upload_id', ARGV[5], 'node', ARGV[3], 'token', ARGV[2], 'at', now)
if redis.call('HGET', KEYS[4], 'hash') == ARGV[4] then redis.call('DEL', KEYS[4]) end
return {1, now}
`)

// setIntentScript records the create a holder is about to send.
// KEYS: lock, fence, intent. ARGV: value, token, node, hash, staged URL.
var setIntentScript = redis.NewScript(fenceCheck + `
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'node', ARGV[3], 'hash', ARGV[4], 'url', ARGV[5], 'token', ARGV[2], 'at', now)
return {1, now}
`)

// clearIntentScript removes a tileset's intent. KEYS: lock, fence, intent.
var clearIntentScript = redis.NewScript(fenceCheck + `
redis.call('DEL', KEYS[3])
return {1, now}
`)

// readScript reads a ledger hash with the server's time.
// KEYS: the hash. Returns {now, field, value, ...}.
var readScript = redis.NewScript(luaNow + `
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, now)
return out
`)
