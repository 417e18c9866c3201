import { ArgumentError, ArgumentRangeError } from "../errors";
import type { RedisConnection } from "./redisConnection";

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /** Prefix of every Redis key the store uses. Default `"rxtrade:"`. */
  prefix?: string;
  /** How long a lease lives without renewal, ms. Default 15 000. */
  leaseMs?: number;
  /** How often a held lease is renewed, ms; below `leaseMs`. Default a third of `leaseMs`. */
  renewMs?: number;
  /** Time limit of one store call, ms (waiting for the connection included). Default CC_STORE_TIMEOUT_SECONDS at each call. */
  callTimeoutMs?: number;
  /** First reconnect delay, ms, doubled per attempt (with ±20 % jitter) up to `reconnectMaxMs`. Default 100. */
  reconnectMinMs?: number;
  /** Longest reconnect delay, ms. Default 5 000. */
  reconnectMaxMs?: number;
  /** Where connection failures, failed renewals and failed releases go. Default rxtrade's `error$` (`listenError`). */
  onError?: (error: Error) => void;
}

/** The options with their defaults, checked; throws `ArgumentError` / `ArgumentRangeError` naming the option. */
export function checkOptions(connection: unknown, options: RedisStoreOptions): Required<Omit<RedisStoreOptions, "callTimeoutMs" | "onError">> & Pick<RedisStoreOptions, "callTimeoutMs" | "onError"> {
  checkConnection(connection);
  const { prefix = "rxtrade:", leaseMs = 15_000, callTimeoutMs, reconnectMinMs = 100, reconnectMaxMs = 5_000, onError } = options;
  if (typeof prefix !== "string") throw new ArgumentError(`redisStore option prefix (${String(prefix)}) must be a string, e.g. "rxtrade:"`, { argument: "options.prefix", value: prefix });
  positiveMs("leaseMs", leaseMs, "15000 (the default)");
  if (leaseMs < 10) throw new ArgumentRangeError(`redisStore option leaseMs (${leaseMs}) must be at least 10 ms, e.g. 15000 (the default)`, { argument: "options.leaseMs", value: leaseMs });
  const renewMs = options.renewMs ?? Math.max(1, Math.floor(leaseMs / 3));
  positiveMs("renewMs", renewMs, `${Math.floor(leaseMs / 3)} (a third of leaseMs, the default)`);
  if (renewMs >= leaseMs) {
    throw new ArgumentRangeError(`redisStore option renewMs (${renewMs}) must be below leaseMs (${leaseMs}), e.g. ${Math.floor(leaseMs / 3)} (a third, the default)`, {
      argument: "options.renewMs",
      value: renewMs,
    });
  }
  if (callTimeoutMs !== undefined) positiveMs("callTimeoutMs", callTimeoutMs, "5000");
  positiveMs("reconnectMinMs", reconnectMinMs, "100 (the default)");
  positiveMs("reconnectMaxMs", reconnectMaxMs, "5000 (the default)");
  if (reconnectMinMs > reconnectMaxMs) {
    throw new ArgumentRangeError(`redisStore option reconnectMinMs (${reconnectMinMs}) must not be above reconnectMaxMs (${reconnectMaxMs})`, {
      argument: "options.reconnectMinMs",
      value: reconnectMinMs,
    });
  }
  if (onError !== undefined && typeof onError !== "function") {
    throw new ArgumentError(`redisStore option onError must be a function, e.g. (error) => console.error(error)`, { argument: "options.onError", value: onError });
  }
  return { prefix, leaseMs, renewMs, callTimeoutMs, reconnectMinMs, reconnectMaxMs, onError };
}

function positiveMs(name: string, value: unknown, example: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || value > 2_147_483_647) {
    throw new ArgumentRangeError(`redisStore option ${name} (${String(value)}) must be a whole number of milliseconds from 1 to 2147483647, e.g. ${example}`, {
      argument: `options.${name}`,
      value,
    });
  }
}

function checkConnection(connection: unknown): asserts connection is RedisConnection {
  const given = connection as { url?: unknown; client?: unknown } | null;
  if (given !== null && typeof given === "object") {
    if (typeof given.url === "string" && given.url !== "") return;
    if (typeof given.client === "object" && given.client !== null && typeof (given.client as { evalsha?: unknown }).evalsha === "function") return;
  }
  throw new ArgumentError(
    `redisStore needs { url: "redis://host:6379" } or { client } (an ioredis client); got ${connection === null ? "null" : typeof connection === "object" ? JSON.stringify(Object.keys(connection as object)) : String(connection)}`,
    { argument: "connection", value: connection },
  );
}
