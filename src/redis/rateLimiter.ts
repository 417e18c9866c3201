import { ArgumentError, ArgumentRangeError } from "../errors";
import { emit } from "../events";
import { type RedisConnection, RedisLink } from "./redisConnection";
import { RedisConnectionError } from "./redisErrors";
import { runScript } from "./redisScripts";
import { RateLimitError } from "./rateLimiterErrors";
import { TAKE } from "./rateLimiterScript";

/** Options of `redisRateLimiter`. */
export interface RedisRateLimiterOptions {
  /** What the bucket limits, e.g. the exchange account `"binance:main"`: every limiter of one Redis, prefix and key shares it. */
  key: string;
  /** Tokens added a second (continuously), e.g. `20` for a venue allowing 20 requests (of cost 1) a second. */
  ratePerSecond: number;
  /** Most tokens the bucket holds: how many requests may go at once after a quiet spell. Default 1 (none bunched: like ccxt's own limiter). */
  burst?: number;
  /** Prefix of the bucket's Redis key (`<prefix>ratelimit:<key>`). Default `"rxtrade:"`. */
  prefix?: string;
  /** Longest an `acquire` may take, Redis call and wait included, ms; a longer wait is refused at once with `RateLimitError`. Default 10 000. */
  timeoutMs?: number;
  /** Time limit of the Redis call, waiting for the connection included, ms (capped by `timeoutMs`). Default 2 000. */
  callTimeoutMs?: number;
  /** First reconnect delay, ms, doubled per attempt (±20 % jitter) up to `reconnectMaxMs`. Default 100. */
  reconnectMinMs?: number;
  /** Longest reconnect delay, ms. Default 5 000. */
  reconnectMaxMs?: number;
  /** Where connection outages go. Default rxtrade's `error$`. */
  onError?: (error: Error) => void;
}

/** What an `acquire` got: when the request may go, by Redis's clock, and how long it waited. */
export interface RateLimitGrant {
  /** Redis's time (ms since the epoch, µs precision) from which the request was admitted. */
  admittedAt: number;
  /** How long the bucket made it wait, ms (0: tokens were there). */
  waitMs: number;
  cost: number;
}

/** A token bucket in Redis shared by every process using its key, as returned by `redisRateLimiter`. */
export interface RedisRateLimiter {
  /** Resolves once `cost` tokens are taken (waiting for them when the bucket is short); rejects with `RateLimitError`, or `RedisConnectionError` when Redis cannot be reached. */
  acquire(cost?: number): Promise<RateLimitGrant>;
  readonly key: string;
  /** The bucket's Redis key, `<prefix>ratelimit:<key>`. */
  readonly redisKey: string;
  readonly ratePerSecond: number;
  readonly burst: number;
  /** Rejects the acquires still waiting for their turn and disconnects the client it created (a given client stays open). */
  close(): Promise<void>;
}

/**
 * A token bucket in Redis, so that every process on one exchange account — a fleet's workers,
 * on any machines — stays under the venue's rate limit together. Pass it to `ccxtExchange`'s
 * `rateLimiter` option and each request ccxt makes takes its ccxt cost from the bucket first.
 *
 * - One Lua script per `acquire`, on Redis's clock (`TIME`), never the callers': it refills the
 *   bucket continuously (`ratePerSecond`, up to `burst`), takes `cost` tokens, and when too few
 *   were there returns how long until they would have been; the caller sleeps that long, then
 *   goes. The tokens are taken by that call (the bucket goes below zero), so waiters are
 *   admitted in the order their calls reached Redis, with no retry and no polling: the total
 *   admitted by any moment `t` is at most `burst + ratePerSecond × (t − start)`.
 * - A wait longer than `timeoutMs` is refused at once with `RateLimitError` (naming the key
 *   and the wait), and nothing is taken.
 * - No offline queue: while Redis is down an `acquire` fails within `callTimeoutMs` with
 *   `RedisConnectionError` (the outage is also reported once to `onError`); the client
 *   reconnects with backoff. A call whose answer was lost may have taken its tokens: the
 *   bucket errs on the side of the venue.
 * - Every limiter of one key must use the same `ratePerSecond` and `burst`.
 *
 * @example
 * import { redisRateLimiter } from "rxtrade/redis";
 * const limiter = redisRateLimiter({ url: "redis://127.0.0.1:6379" }, { key: "binance:main", ratePerSecond: 20, burst: 10 });
 * await limiter.acquire(2); // two tokens taken: the request may go
 *
 * @param connection `{ url, clientOptions? }` (the limiter creates the ioredis client on first use) or `{ client }` (yours)
 * @param options the key, rate and burst, prefix, time limits, reconnect backoff, error reporting
 */
export function redisRateLimiter(connection: RedisConnection, options: RedisRateLimiterOptions): RedisRateLimiter {
  const { key, ratePerSecond, burst, prefix, timeoutMs, callTimeoutMs, reconnectMinMs, reconnectMaxMs, onError } = checkLimiterOptions(connection, options);
  const report = (error: Error): void => {
    try {
      (onError ?? emit.error)(error);
    } catch {
      // The reporter's failure is its own.
    }
  };
  const link = new RedisLink(connection, { reconnectMinMs, reconnectMaxMs, callTimeoutMs, report });
  const redisKey = `${prefix}ratelimit:${key}`;
  const where = link.where;
  // The acquires sleeping until their turn, so that close() can end them.
  const sleeping = new Set<{ timer: ReturnType<typeof setTimeout>; reject(error: Error): void }>();
  let closed = false;
  const closedError = () => new RedisConnectionError(where, `rate limiter ${key} (${redisKey}) was closed (limiter.close()); create a new one`);

  return {
    key,
    redisKey,
    ratePerSecond,
    burst,
    async acquire(cost = 1) {
      if (typeof cost !== "number" || !Number.isFinite(cost) || cost <= 0) {
        throw new ArgumentRangeError(`rate limiter ${key}: acquire(cost) needs a positive number of tokens, got ${String(cost)}; e.g. 1`, { argument: "cost", value: cost });
      }
      if (closed) throw closedError();
      const started = performance.now();
      const limit = { ms: Math.min(callTimeoutMs, timeoutMs), key: callTimeoutMs <= timeoutMs ? "redisRateLimiter option callTimeoutMs" : "redisRateLimiter option timeoutMs" };
      let reply: unknown;
      try {
        // The longest wait is what is left of timeoutMs once the call is sent (it may have waited for the connection).
        const longestUs = () => Math.max(0, Math.floor((timeoutMs - (performance.now() - started)) * 1000));
        reply = await link.call(`rate limit ${key} acquire(${cost})`, (client) => runScript(client, TAKE, [redisKey], [ratePerSecond, burst, cost, longestUs()]), limit);
      } catch (error) {
        throw unreachable(error, where, key, redisKey);
      }
      const [taken, nowUs, waitUs] = parseReply(reply, redisKey);
      const waitMs = Math.ceil(waitUs / 1000);
      if (taken !== 1) throw new RateLimitError(key, redisKey, cost, waitMs, timeoutMs, ratePerSecond, burst);
      if (waitMs > 0) {
        // One more ms: a timer may fire within the millisecond before it is due (the event loop's cached time).
        await new Promise<void>((resolve, reject) => {
          const sleeper = {
            timer: setTimeout(() => {
              sleeping.delete(sleeper);
              resolve();
            }, waitMs + 1),
            reject,
          };
          sleeping.add(sleeper);
        });
      }
      return { admittedAt: (nowUs + waitUs) / 1000, waitMs: waitUs / 1000, cost };
    },
    async close() {
      closed = true;
      for (const sleeper of sleeping) {
        clearTimeout(sleeper.timer);
        sleeper.reject(closedError());
      }
      sleeping.clear();
      await link.close();
    },
  };
}

function parseReply(reply: unknown, redisKey: string): [number, number, number] {
  if (Array.isArray(reply) && reply.length === 3 && reply.every((item) => typeof item === "number")) return reply as [number, number, number];
  throw new Error(`rxtrade: the rate limit script on ${redisKey} answered ${JSON.stringify(reply)}, not [taken, now, wait]; is another program writing that key?`);
}

/** A failed Redis call as the error `acquire` rejects with: a `RedisConnectionError` naming Redis, the key and the cause. */
function unreachable(error: unknown, where: string, key: string, redisKey: string): Error {
  if (error instanceof RedisConnectionError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  return new RedisConnectionError(
    where,
    `rate limiter ${key} could not take tokens from ${redisKey}: ${cause.message.replace(/^rxtrade: /, "")}; the request was not admitted. ` +
      `Check that Redis at ${where} is running and reachable (the client reconnects with backoff)`,
    cause,
  );
}

/** The options with their defaults, checked; throws `ArgumentError` / `ArgumentRangeError` naming the option. */
function checkLimiterOptions(connection: unknown, options: RedisRateLimiterOptions) {
  const given = connection as { url?: unknown; client?: unknown } | null;
  const connectionOk =
    given !== null &&
    typeof given === "object" &&
    ((typeof given.url === "string" && given.url !== "") || (typeof given.client === "object" && given.client !== null && typeof (given.client as { evalsha?: unknown }).evalsha === "function"));
  if (!connectionOk) {
    throw new ArgumentError(`redisRateLimiter needs { url: "redis://host:6379" } or { client } (an ioredis client) as its first argument; got ${given === null ? "null" : typeof given}`, {
      argument: "connection",
      value: connection,
    });
  }
  if (options === null || typeof options !== "object") {
    throw new ArgumentError(`redisRateLimiter needs options { key, ratePerSecond }, e.g. { key: "binance:main", ratePerSecond: 20 }; got ${String(options)}`, { argument: "options", value: options });
  }
  const { key, ratePerSecond, burst = 1, prefix = "rxtrade:", timeoutMs = 10_000, callTimeoutMs = 2_000, reconnectMinMs = 100, reconnectMaxMs = 5_000, onError } = options;
  if (typeof key !== "string" || key === "") {
    throw new ArgumentError(`redisRateLimiter option key (${JSON.stringify(key)}) must be a non-empty string naming the account, e.g. "binance:main"`, { argument: "options.key", value: key });
  }
  if (typeof prefix !== "string") throw new ArgumentError(`redisRateLimiter option prefix (${String(prefix)}) must be a string, e.g. "rxtrade:"`, { argument: "options.prefix", value: prefix });
  positive("ratePerSecond", ratePerSecond, "20");
  positive("burst", burst, "1 (the default) or 10");
  for (const [name, value, example] of [
    ["timeoutMs", timeoutMs, "10000 (the default)"],
    ["callTimeoutMs", callTimeoutMs, "2000 (the default)"],
    ["reconnectMinMs", reconnectMinMs, "100 (the default)"],
    ["reconnectMaxMs", reconnectMaxMs, "5000 (the default)"],
  ] as const) {
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || value > 2_147_483_647) {
      throw new ArgumentRangeError(`redisRateLimiter option ${name} (${String(value)}) must be a whole number of milliseconds from 1 to 2147483647, e.g. ${example}`, {
        argument: `options.${name}`,
        value,
      });
    }
  }
  if (reconnectMinMs > reconnectMaxMs) {
    throw new ArgumentRangeError(`redisRateLimiter option reconnectMinMs (${reconnectMinMs}) must not be above reconnectMaxMs (${reconnectMaxMs})`, { argument: "options.reconnectMinMs", value: reconnectMinMs });
  }
  if (onError !== undefined && typeof onError !== "function") {
    throw new ArgumentError(`redisRateLimiter option onError must be a function, e.g. (error) => console.error(error)`, { argument: "options.onError", value: onError });
  }
  return { key, ratePerSecond, burst, prefix, timeoutMs, callTimeoutMs, reconnectMinMs, reconnectMaxMs, onError };
}

function positive(name: string, value: unknown, example: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new ArgumentRangeError(`redisRateLimiter option ${name} (${String(value)}) must be a positive number, e.g. ${example}`, { argument: `options.${name}`, value });
  }
}
