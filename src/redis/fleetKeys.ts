import { script } from "./fleetScript";

/** Where a fleet keeps what it shares in Redis, under its prefix (default `rxtrade:`). */
export function fleetKeys(prefix: string) {
  return {
    /** Hash: pair id -> JSON `FleetPairSpec`: the desired pairs. */
    pairs: `${prefix}pairs`,
    /** Capped stream of every worker's events (`FleetEvent`). */
    events: `${prefix}events`,
    /** Set of the worker names that registered (the live ones have a heartbeat key). */
    workers: `${prefix}workers`,
    /** String with a TTL: a worker's heartbeat (`<prefix>worker:<name>`). */
    worker: (name: string) => `${prefix}worker:${name}`,
    /** Hash: what the holder of a pair last said of it (owner, token, status, signalId, lastTickAt). */
    status: (pair: string) => `${prefix}status:${pair}`,
    /** String: the simulated clock of a fleet run at --speed (origin and speed), set by its first worker. */
    clock: `${prefix}clock`,
  };
}

/** The stream's length cap (`XADD … MAXLEN ~`). */
export const EVENTS_MAXLEN = 10_000;

/**
 * KEYS: fence, status, events, lease. ARGV: token, maxlen, n, n status field/value items, then
 * the event's field/value items (none: no event). Applied only while the pair's fencing counter
 * is still `token` — nobody took the pair since — and its lease is held with that token or by
 * nobody (a holder's last notes follow its release): so no event or status of an old holder
 * lands after a newer holder's, even when Redis lost writes and the fence key rolled back.
 * -> 1 applied, 0 refused.
 */
export const NOTE = script(
  "fleet-note",
  `if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1]) then return 0 end
local lease = redis.call('GET', KEYS[4])
if lease and string.find(lease, '{"token":' .. ARGV[1] .. ',', 1, true) ~= 1 then return 0 end
local n = tonumber(ARGV[3])
if n > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, 4, 3 + n)) end
if #ARGV > 3 + n then redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4 + n, #ARGV)) end
return 1`,
);

/**
 * KEYS: pairs, status. ARGV: pair id, spec JSON, '1' to replace a pair's strategy or exchange
 * while it holds a signal. Stores the spec — unless the pair holds a signal (its status's
 * signalId) and the strategy or exchange would change without '1' — and clears a `drained`
 * status. -> {1, previous spec or '', signalId, status} stored, {0, previous spec, signalId} refused.
 */
export const ADD = script(
  "fleet-add",
  `local old = redis.call('HGET', KEYS[1], ARGV[1])
local signal = redis.call('HGET', KEYS[2], 'signalId') or ''
local status = redis.call('HGET', KEYS[2], 'status') or ''
if old and signal ~= '' and ARGV[3] ~= '1' then
  local ok, before = pcall(cjson.decode, old)
  local after = cjson.decode(ARGV[2])
  if not ok or type(before) ~= 'table' or before.strategy ~= after.strategy or before.exchange ~= after.exchange then return {0, old, signal} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], 'status')
return {1, old or '', signal, status}`,
);

/**
 * KEYS: status, events, lease. ARGV: maxlen, 'error' or 'drained', the message, worker, at (ISO),
 * signalId, pair. A pair no worker could start (its spec does not resolve): while nobody holds
 * its lease, its status becomes `error` with the message — and an `error` event is added when
 * the status did not already say that message (once per streak, whichever worker tries) — or,
 * for a drained pair with no signal, `drained` for good (a `drained` event). -> 1 noted, 0 not.
 */
export const PAIR_FAILED = script(
  "fleet-pair-failed",
  `if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local before = redis.call('HGET', KEYS[1], 'status')
if ARGV[2] == 'drained' then
  if before == 'drained' then return 0 end
  redis.call('HSET', KEYS[1], 'status', 'drained', 'signalId', '', 'error', ARGV[3])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'action', 'drained', 'pair', ARGV[7], 'worker', ARGV[4], 'token', '0', 'signalId', '', 'at', ARGV[5], 'why', 'it cannot start: ' .. ARGV[3])
  return 1
end
if before == 'error' and redis.call('HGET', KEYS[1], 'error') == ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'error', 'error', ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'action', 'error', 'pair', ARGV[7], 'worker', ARGV[4], 'token', '0', 'signalId', ARGV[6], 'at', ARGV[5], 'message', ARGV[3])
return 1`,
);

/**
 * KEYS: heartbeat, workers. ARGV: this worker's value, ttl ms, name, and a holder's value it may
 * replace ('' none: a dead process of this host, seen by the worker). Sets the heartbeat unless
 * another worker of that name holds it. -> 1, or 0 and the holder's value.
 */
export const HEARTBEAT = script(
  "fleet-heartbeat",
  `local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] and held ~= ARGV[4] then return {0, held} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return {1}`,
);

/** KEYS: heartbeat, workers. ARGV: this worker's value, name. Leaves the fleet (the name stays listed while another worker holds it). */
export const LEAVE = script(
  "fleet-leave",
  `local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then redis.call('DEL', KEYS[1]) end
if not held or held == ARGV[1] then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1`,
);

/**
 * ARGV: prefix. What a worker decides by, in one round trip: the live workers (names whose
 * heartbeat is there; the others are dropped from the set), and per pair its spec, whether its
 * lease is held, and its last status. -> {live names, {id, spec, leased, status, owner, signalId, lastTickAt, token, error, …}}
 */
export const SNAPSHOT = script(
  "fleet-snapshot",
  `local prefix = ARGV[1]
local live = {}
for _, name in ipairs(redis.call('SMEMBERS', prefix .. 'workers')) do
  if redis.call('EXISTS', prefix .. 'worker:' .. name) == 1 then table.insert(live, name)
  else redis.call('SREM', prefix .. 'workers', name) end
end
local all = redis.call('HGETALL', prefix .. 'pairs')
local out = {}
for i = 1, #all, 2 do
  local id = all[i]
  local s = redis.call('HMGET', prefix .. 'status:' .. id, 'status', 'owner', 'signalId', 'lastTickAt', 'token', 'error')
  table.insert(out, id)
  table.insert(out, all[i + 1])
  table.insert(out, redis.call('EXISTS', prefix .. 'lease:' .. id))
  for j = 1, 6 do table.insert(out, s[j] or '') end
end
return {live, out}`,
);
