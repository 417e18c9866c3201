import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** A Lua script run with EVALSHA (EVAL when Redis does not have it cached, e.g. after a restart). */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

// A lease value is `{"token":<n>,"owner":<owner JSON>}`, built here so that taking the lease and
// drawing its fencing token are one atomic step: no other taker can come between the two.
// Every other script compares the whole value, so owner and token are checked together.

// The fencing token comes from Redis's clock: max(the key's last token + 1, Redis's TIME in µs),
// so it keeps growing even when Redis loses acknowledged writes (restarted from an older
// snapshot, a failover to a lagging replica) and the fence key rolls back or disappears — as
// long as the Redis hosts' clocks do not go back. µs since 1970 (~1.8e15) stay below 2^53:
// exact as a Lua number, a Redis integer and a JavaScript number.
/** KEYS: lease, fence. ARGV: owner JSON, lease ms. -> {1, value, token} or {0, holder value, pttl}. */
export const ACQUIRE = script(
  "acquire",
  `if redis.replicate_commands then pcall(redis.replicate_commands) end
local held = redis.call('GET', KEYS[1])
if held then return {0, held, redis.call('PTTL', KEYS[1])} end
local time = redis.call('TIME')
local token = tonumber(time[1]) * 1000000 + tonumber(time[2])
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if last + 1 > token then token = last + 1 end
redis.call('SET', KEYS[2], string.format('%d', token))
local value = '{"token":' .. string.format('%d', token) .. ',"owner":' .. ARGV[1] .. '}'
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value, token}`,
);

/** KEYS: lease. ARGV: our lease value, lease ms. -> {1} renewed, {0, holder value} another's, {0} gone. */
export const RENEW = script(
  "renew",
  `local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1}
end
if held then return {0, held} end
return {0}`,
);

/**
 * KEYS: data, lease. ARGV: our lease value ('' when the writer holds no lease), 'set' or 'del',
 * the value. Applied only when the lease is ours — or, for a writer without one, when nobody
 * holds it. -> {1} applied, {0, holder value} refused (held by another), {0} refused (lease gone).
 */
export const WRITE = script(
  "write",
  `local held = redis.call('GET', KEYS[2])
if ARGV[1] == '' then
  if held then return {0, held} end
elseif held ~= ARGV[1] then
  if held then return {0, held} end
  return {0}
end
if ARGV[2] == 'del' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[3]) end
return {1}`,
);

/** KEYS: lease. ARGV: our lease value. Deletes the lease only while it is ours. -> 1 or 0. */
export const RELEASE = script(
  "release",
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
);

/**
 * KEYS: lease. ARGV: owner JSON. After a `lock` whose answer never came (timed out, connection
 * lost): deletes the lease if that owner took it after all. -> 1 or 0.
 */
export const ABANDON = script(
  "abandon",
  `local held = redis.call('GET', KEYS[1])
if held and string.find(held, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end
return 0`,
);

/** KEYS: data, quarantine. ARGV: the value read. Moves it aside only if it is still that value. -> 1 or 0. */
export const QUARANTINE = script(
  "quarantine",
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 1
end
return 0`,
);

/** Runs `lua` by its SHA1, sending the source only when the server has not cached it. */
export async function runScript(client: Redis, lua: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  try {
    return await client.evalsha(lua.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return client.eval(lua.source, keys.length, ...keys, ...args);
  }
}
