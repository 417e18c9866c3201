import { hostname } from "node:os";
import { RxTradeError, StoreLockedError, StoreReadError, StoreWriteError } from "../errors";
import { emit } from "../events";
import { randomId } from "../ids";
import type { SignalStore } from "../model";
import { serialByKey } from "../stores/keyed";
import { type RedisConnection, RedisLink } from "./redisConnection";
import { type Envelope, envelopeProblem, FORMAT } from "./redisEnvelope";
import { describeHolder, parseLease, type LeaseHost, RedisLease, type RedisRelease } from "./redisLease";
import { checkOptions, type RedisStoreOptions } from "./redisOptions";
import { ABANDON, ACQUIRE, QUARANTINE, RELEASE, RENEW, runScript, WRITE } from "./redisScripts";

export type { RedisStoreOptions } from "./redisOptions";

/** A `SignalStore` on Redis, as returned by `redisStore`. */
export interface RedisStore extends SignalStore {
  read(key: string): Promise<unknown | null>;
  write(key: string, value: unknown | null): Promise<void>;
  /** Takes the key's lease; the release tells when it is lost (`onLost`) and carries its fencing `token`. */
  lock(key: string): Promise<RedisRelease>;
  /** The prefix of every Redis key the store uses. */
  readonly prefix: string;
  readonly leaseMs: number;
  /** What the engine queues this process's lock calls by: stores of one Redis URL and prefix share it. */
  readonly lockScope: string;
  /** The Redis keys of a store key: its value, its lease and its fencing counter. */
  keysOf(key: string): { data: string; lease: string; fence: string };
  /** Releases the leases still held, then disconnects the client the store created (a given client stays open). */
  close(): Promise<void>;
}

// The releases of this process still on their way to Redis, by lock scope and key: a `lock` or
// an unleased write of that key waits for them, so that "released" means free to take again,
// even from another store instance of the same Redis.
const releasing = new Map<string, Promise<void>>();

/**
 * A `SignalStore` on Redis (through ioredis, an optional peer dependency: `npm install
 * ioredis`), with `lock(key)` as a lease that keeps one process alone trading a key across
 * machines — the ground of a fleet of workers.
 *
 * - Values: `<prefix>data:<key>` holds `{ rxtrade: 1, key, token?, value }` as JSON. `read`
 *   returns a JSON round trip of what was written; `write(key, null)` deletes it. Writes to one
 *   key apply in call order. A value that does not parse or is not the store's own is moved
 *   aside to `<prefix>corrupt:<key>:<time>` and `read` throws a `StoreReadError` with
 *   `quarantinedTo`; the next read returns null.
 * - Durability is Redis's: run it with `appendonly yes` (AOF; `appendfsync always` for no loss
 *   at all on a crash of Redis itself). A single Redis (or a primary with Sentinel); not Redis
 *   Cluster (a write checks the lease and sets the value in one script).
 * - `lock(key)` takes a lease: `<prefix>lease:<key>` set only if absent, with a time to live
 *   of `leaseMs` and a fencing token drawn in the same script — the greater of the key's last
 *   token + 1 and Redis's TIME in µs, so it grows even after Redis lost acknowledged writes
 *   (`release.token`; every later holder has a higher one). While held it is renewed every
 *   `renewMs` by a script that extends it only while its value (owner and token) is still
 *   this lease's. A refused `lock` rejects with `StoreLockedError` naming the holder's pid and host.
 * - Fencing: every write goes through a script that checks the lease in Redis at the moment it
 *   applies. A write under a lease is applied only while that lease (owner and token) is still
 *   the key's; otherwise it rejects with `StoreLockedError` (naming the new holder when there is
 *   one), the release's `onLost` listeners are called with that error, and the engine stops
 *   trading the key at once. A renewal that finds the lease gone or another's does the same. So
 *   a process paused (SIGSTOP, a long GC) or cut off past its lease can never overwrite the
 *   new holder's state.
 * - A write without a lease (you calling `write` yourself, e.g. to clear a key) is applied only
 *   while nobody holds the key's lease; otherwise it rejects with `StoreLockedError`. (Unlike
 *   the other stores, where locks are advisory.)
 * - A release is synchronous, idempotent and never throws: it deletes the lease in Redis (only
 *   if still this one) without waiting; a failure is reported to `onError` and the lease then
 *   expires by itself within `leaseMs`. A `lock` of the key by a store of the same Redis and
 *   prefix in this process waits for that deletion.
 * - Time limits: each call, waiting for the connection included, fails after `callTimeoutMs`
 *   (default CC_STORE_TIMEOUT_SECONDS) with a `StoreReadError` / `StoreWriteError` whose cause
 *   is a `CallTimeoutError`; a renewal after `renewMs`.
 * - Connection: the client the store creates (from `url`) reconnects with exponential backoff
 *   (`reconnectMinMs` to `reconnectMaxMs`); each outage is reported once to `onError` as a
 *   `RedisConnectionError`. It has no offline queue: a call is sent only once the connection is
 *   ready (waiting for it within the call's limit), and a call in flight when the connection
 *   drops fails at once rather than being sent again after the reconnect. A write the caller
 *   gave up on is therefore never applied later — and one whose answer was lost was applied
 *   only if the lease was still the writer's at that moment (the fencing script). `clientOptions`
 *   override these settings; with your own `client`, the store uses it as it is (the fencing
 *   keeps a queued write from applying after the lease was lost either way).
 *
 * @example
 * import { liveTrade$ } from "rxtrade";
 * import { redisStore } from "rxtrade/redis";
 * const store = redisStore({ url: "redis://127.0.0.1:6379" }, { prefix: "rxtrade:" });
 * liveTrade$("BTCUSDT", strategy, { exchange, store }).subscribe();
 *
 * @param connection `{ url, clientOptions? }` (the store creates the ioredis client on first use) or `{ client }` (yours)
 * @param options key prefix, lease length and renewal, call limit, reconnect backoff, error reporting
 */
export function redisStore(connection: RedisConnection, options: RedisStoreOptions = {}): RedisStore {
  const { prefix, leaseMs, renewMs, callTimeoutMs, reconnectMinMs, reconnectMaxMs, onError } = checkOptions(connection, options);

  const report = (error: Error): void => {
    try {
      (onError ?? emit.error)(error);
    } catch {
      // The reporter's failure is its own.
    }
  };
  const link = new RedisLink(connection, { reconnectMinMs, reconnectMaxMs, callTimeoutMs, report });
  const lockScope = `redis:${link.scope}\u0000${prefix}`;
  const keysOf = (key: string) => ({ data: `${prefix}data:${key}`, lease: `${prefix}lease:${key}`, fence: `${prefix}fence:${key}` });
  // Calls on one key run one at a time, in call order.
  const serial = serialByKey();
  // The leases this store holds (or held and lost, until released), by key.
  const held = new Map<string, RedisLease>();
  const where = link.where;
  const ownerBase = { pid: typeof process === "object" ? process.pid : undefined, host: hostname() };

  const afterRelease = async (key: string): Promise<void> => {
    await releasing.get(`${lockScope}\u0000${key}`);
  };

  const leaseHost: LeaseHost = {
    leaseMs,
    renewMs,
    where,
    leaseKeyOf: (key) => keysOf(key).lease,
    renew: async (lease, late) => {
      const answer = await link.call(
        `renew(${lease.key})`,
        (client) => runScript(client, RENEW, [keysOf(lease.key).lease], [lease.value, leaseMs]),
        { ms: renewMs, key: "redisStore option renewMs" },
        (outcome) => {
          if ("value" in outcome) late(renewed(outcome.value));
        },
      );
      return renewed(answer);
    },
    released: (lease) => {
      if (held.get(lease.key) === lease) held.delete(lease.key);
      if (lease.lost !== undefined) return; // the lease is someone else's, or gone: leave it
      const id = `${lockScope}\u0000${lease.key}`;
      const done = serial(lease.key, () => link.call(`release(${lease.key})`, (client) => runScript(client, RELEASE, [keysOf(lease.key).lease], [lease.value])))
        .then(
          () => undefined,
          (cause: unknown) =>
            report(
              new StoreWriteError({
                key: lease.key,
                path: keysOf(lease.key).lease,
                cause,
                message: `cannot release the lease of ${lease.key} (Redis key ${keysOf(lease.key).lease} at ${where}, token ${lease.token}): ${describe(cause)}; it expires by itself within leaseMs (${leaseMs} ms)`,
              }),
            ),
        )
        .finally(() => {
          if (releasing.get(id) === done) releasing.delete(id);
        });
      releasing.set(id, done);
    },
    report,
  };

  return {
    prefix,
    leaseMs,
    lockScope,
    keysOf,

    read(key) {
      const { data } = keysOf(key);
      return serial(key, async () => {
        let text: string | null;
        try {
          text = await link.call(`read(${key})`, (client) => client.get(data));
        } catch (cause) {
          throw new StoreReadError({ key, path: data, cause, message: `${describe(cause)}${hint(cause)}` });
        }
        if (text === null) return null;
        const problem = envelopeProblem(text, key);
        if (problem.value !== undefined) return problem.value.value ?? null;
        const quarantine = `${prefix}corrupt:${key}:${new Date().toISOString()}:${randomId().slice(0, 8)}`;
        let moved: unknown;
        try {
          moved = await link.call(`quarantine(${key})`, (client) => runScript(client, QUARANTINE, [data, quarantine], [text]));
        } catch (cause) {
          throw new StoreReadError({ key, path: data, cause, message: `not an rxtrade value (${problem.why}), and it cannot be moved aside: ${describe(cause)}` });
        }
        if (moved !== 1) throw new StoreReadError({ key, path: data, message: `not an rxtrade value (${problem.why}), and it changed while being moved aside; read it again` });
        throw new StoreReadError({ key, path: data, quarantinedTo: quarantine, message: `not an rxtrade value: ${problem.why}` });
      });
    },

    write(key, value) {
      const { data, lease: leaseKey } = keysOf(key);
      return afterRelease(key).then(() =>
        serial(key, async () => {
          const lease = held.get(key);
          // A stream that lost its lease writes nothing more.
          if (lease?.lost !== undefined) throw lease.lost;
          let text = "";
          if (value !== null) {
            if (value === undefined || typeof value === "function" || typeof value === "symbol") {
              throw new StoreWriteError({ key, path: data, cause: new TypeError(`the value (${typeof value}) is not JSON; write null to clear the key`) });
            }
            const envelope: Envelope = lease === undefined ? { rxtrade: FORMAT, key, value } : { rxtrade: FORMAT, key, token: lease.token, value };
            try {
              text = JSON.stringify(envelope);
            } catch (cause) {
              throw new StoreWriteError({ key, path: data, cause });
            }
          }
          let answer: unknown;
          try {
            answer = await link.call(`write(${key})`, (client) =>
              runScript(client, WRITE, [data, leaseKey], [lease?.value ?? "", value === null ? "del" : "set", text]),
            );
          } catch (cause) {
            throw new StoreWriteError({ key, path: data, cause, message: `cannot write ${key} (${data}): ${describe(cause)}${hint(cause)}` });
          }
          const [applied, found] = answer as [number, string?];
          if (applied === 1) return;
          if (lease !== undefined) throw lease.markLost(found);
          throw refusedWrite(key, leaseKey, found ?? "");
        }),
      );
    },

    lock(key) {
      const { lease: leaseKey, fence } = keysOf(key);
      const owner = JSON.stringify({ id: randomId(), ...ownerBase });
      return afterRelease(key).then(() =>
        serial(key, async () => {
          let answer: unknown;
          try {
            answer = await link.call(`lock(${key})`, (client) => runScript(client, ACQUIRE, [leaseKey, fence], [owner, leaseMs]));
          } catch (cause) {
            // The lease may have been taken all the same (the answer lost): give it back.
            link.call(`abandon(${key})`, (client) => runScript(client, ABANDON, [leaseKey], [owner])).catch(() => undefined);
            throw new StoreWriteError({ key, path: leaseKey, cause, message: `cannot lock ${key} (${leaseKey}): ${describe(cause)}${hint(cause)}` });
          }
          const [taken, value, extra] = answer as [number, string, number];
          if (taken !== 1) throw lockedError(key, leaseKey, value, extra);
          const lease = new RedisLease(key, value, extra, (JSON.parse(owner) as { id: string }).id, leaseHost);
          held.set(key, lease);
          return lease.release;
        }),
      );
    },

    async close() {
      for (const lease of [...held.values()]) lease.release();
      await Promise.all([...releasing.entries()].filter(([id]) => id.startsWith(`${lockScope}\u0000`)).map(([, done]) => done));
      await link.close();
    },
  };
}

/** The renewal script's answer: true (renewed), the value found, or undefined (gone). */
function renewed(answer: unknown): true | string | undefined {
  const [ok, found] = answer as [number, string?];
  return ok === 1 ? true : found;
}

function lockedError(key: string, leaseKey: string, found: string, pttl: number): StoreLockedError {
  const holder = parseLease(found);
  const expires = pttl > 0 ? `; it expires in ${pttl} ms unless renewed` : "";
  return new StoreLockedError({
    key,
    path: leaseKey,
    ...(holder?.pid === undefined ? {} : { pid: holder.pid }),
    ...(holder?.host === undefined ? {} : { hostname: holder.host }),
    message:
      `${key} is locked by ${holder?.pid === undefined ? "another stream" : `process ${holder.pid}`}; stop that stream first (one stream per symbol and strategy per store). ` +
      `Its lease ${leaseKey} is held by ${describeHolder(found)}${expires}; a holder that is gone loses it by itself within its leaseMs`,
  });
}

function refusedWrite(key: string, leaseKey: string, found: string): StoreLockedError {
  const holder = parseLease(found);
  return new StoreLockedError({
    key,
    path: leaseKey,
    ...(holder?.pid === undefined ? {} : { pid: holder.pid }),
    ...(holder?.host === undefined ? {} : { hostname: holder.host }),
    message:
      `cannot write ${key}: its lease ${leaseKey} is held by ${describeHolder(found)}, and a write without the lease is applied only while nobody holds it. ` +
      `Stop that stream first, or write through the stream that holds the key`,
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.replace(/^rxtrade: /, "") : String(error);
}

/** What to do about a failure that is not the store's own. */
function hint(cause: unknown): string {
  if (cause instanceof RxTradeError) return "";
  if (cause instanceof Error && /WRONGTYPE/.test(cause.message)) return " (the Redis key holds another type: it is not this store's; use another prefix, or delete it)";
  return "";
}
