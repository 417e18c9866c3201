import { script } from "./fleetScript";

/**
 * KEYS: the bucket. ARGV: rate (tokens a second), burst, cost, longest wait (µs).
 * -> {1, now µs, wait µs} taken (the caller goes at now + wait), {0, now µs, wait µs} refused
 * (the wait is over the longest; nothing taken).
 *
 * A token bucket whose level, refilled continuously at `rate` up to `burst` from the time of
 * its last take, may go below zero: a take that finds too few tokens still takes them (a
 * reservation) and is told how long until the level it left would be back at zero. So one
 * call admits a request, waiters are served in the order their calls reach Redis, and nobody
 * polls; the debt is bounded by the longest wait. Time is Redis's (`TIME`), never a caller's.
 * The bucket expires once it would be full again: a missing bucket is a full one. (`at` is
 * after `now` only when Redis's clock stepped back: the take then waits for `at` too.)
 */
export const TAKE = script(
  "rate limit take",
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1]) / 1000000
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1])
local at = tonumber(state[2])
if level == nil or at == nil then
  level = burst
  at = now
end
if now > at then
  level = math.min(burst, level + (now - at) * rate)
  at = now
end
local left = level - cost
local wait = at - now
if left < 0 then wait = wait - left / rate end
wait = math.ceil(wait)
if wait > tonumber(ARGV[4]) then return {0, now, wait} end
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', left), 'at', string.format('%d', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - left) / rate / 1000) + 1000)
return {1, now, wait}`,
);
