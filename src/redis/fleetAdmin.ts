import { Observable } from "rxjs";
import { ArgumentError } from "../errors";
import { type RedisConnection, RedisLink } from "./redisConnection";
import { FleetError } from "./fleetErrors";
import { ADD, fleetKeys, SNAPSHOT } from "./fleetKeys";
import { runScript } from "./redisScripts";
import { checkSpec, eventOf, type FleetEvent, type FleetPairSpec, type FleetPairView, parseSnapshot, viewOf } from "./fleetTypes";

/** Options of `fleetAdmin` and `fleetEvents$`. */
export interface FleetAdminOptions {
  /** The fleet's key prefix; default `"rxtrade:"`. */
  prefix?: string;
  /** Time limit of one call, ms; default CC_STORE_TIMEOUT_SECONDS. */
  callTimeoutMs?: number;
}

/**
 * What `fleetAdmin`'s `put` did: `added` (a new pair), `replaced` (its spec changed: its worker,
 * if any, hands it over at once and it restarts with the new spec — an open signal resumed
 * under it), `unchanged` (the same spec), `readded` (the same spec, its drain cancelled: it runs again).
 */
export interface FleetPutResult {
  pair: string;
  outcome: "added" | "replaced" | "unchanged" | "readded";
  /** The spec it had before, or null (`added`). */
  previous: FleetPairSpec | null;
}

/** What `fleetAdmin` returns: the desired pairs of a fleet and what its workers say of them. */
export interface FleetAdmin {
  readonly prefix: string;
  /** Adds (or replaces) a pair: `<symbol>:<strategyName>` -> spec; its id. As `put` without `replace`. */
  add(spec: FleetPairSpec, strategyName: string): Promise<string>;
  /**
   * Adds or replaces a pair, saying which. A pair added again after a drain runs again. A pair
   * that holds a signal (scheduled or open) keeps its strategy and exchange unless `replace`:
   * otherwise a `FleetError` says so (its next holder would resume the signal with another
   * strategy or exchange). A changed spec applies at once: the pair's worker hands it over and
   * it is claimed again with the new spec (the open signal resumed under it).
   */
  put(spec: FleetPairSpec, strategyName: string, options?: { replace?: boolean }): Promise<FleetPutResult>;
  /** Removes a pair from the desired set: its worker stops trading it (its store value stays). `false` when there was none. */
  remove(pair: string): Promise<boolean>;
  /** Asks for a drain of these pairs (or of every pair present now: `"all"`); the intent stays in Redis. Returns the pairs asked. */
  drain(pairs: readonly string[] | "all"): Promise<string[]>;
  /** Every pair, by id, with its owner, status, signal, last tick and token; and the live workers. */
  list(): Promise<{ pairs: FleetPairView[]; workers: string[] }>;
  /** The stream's entries after `after` (default from the start), oldest first, at most `count`. */
  events(after?: string, count?: number): Promise<FleetEvent[]>;
  close(): Promise<void>;
}

/**
 * The desired set of a fleet's pairs, in Redis, for the command line and for your own tools:
 * add, remove and drain pairs, list what the workers say of them, read the event stream.
 *
 * @example
 * import { fleetAdmin } from "rxtrade/redis";
 * const admin = fleetAdmin({ url: "redis://127.0.0.1:6379" });
 * await admin.add({ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled" }, "momentum");
 * console.table((await admin.list()).pairs);
 * await admin.close();
 *
 * @param connection `{ url }` or `{ client }`, as for `redisStore`
 * @param options the fleet's prefix, the call limit
 */
export function fleetAdmin(connection: RedisConnection, options: FleetAdminOptions = {}): FleetAdmin {
  const prefix = checkPrefix(options.prefix);
  const keys = fleetKeys(prefix);
  const link = new RedisLink(connection, { reconnectMinMs: 100, reconnectMaxMs: 2_000, callTimeoutMs: options.callTimeoutMs, report: () => undefined });
  const snapshot = async () => parseSnapshot(await link.call("fleet snapshot", (client) => runScript(client, SNAPSHOT, [], [prefix])));
  const admin: FleetAdmin = {
    prefix,
    async add(spec, strategyName) {
      return (await admin.put(spec, strategyName)).pair;
    },
    async put(spec, strategyName, putOptions = {}) {
      const checked = checkSpec(spec, "fleet add");
      delete checked.drain;
      if (typeof strategyName !== "string" || strategyName === "" || strategyName.includes(":")) {
        throw new ArgumentError(`fleet add: strategyName must be a non-empty string without ":", got ${JSON.stringify(strategyName)}`, { argument: "strategyName", value: strategyName });
      }
      const id = `${checked.symbol}:${strategyName}`;
      const [stored, oldText, signalId, status] = (await link.call(`add(${id})`, (client) => runScript(client, ADD, [keys.pairs, keys.status(id)], [id, JSON.stringify(checked), putOptions.replace === true ? "1" : "0"]))) as [number, string, string, string?];
      let previous: FleetPairSpec | null = null;
      try {
        previous = oldText === "" ? null : checkSpec(JSON.parse(oldText), `pair ${id}`);
      } catch {
        previous = null;
      }
      if (stored !== 1) {
        const was = previous === null ? `a spec that is not one (${oldText.slice(0, 200)})` : `strategy ${previous.strategy} on exchange ${previous.exchange}`;
        throw new FleetError(
          `fleet add: pair ${id} holds signal ${signalId} (${was}): changing it to strategy ${checked.strategy} on exchange ${checked.exchange} would resume that signal with them. ` +
            "Drain it first (fleet drain, then add it again once drained), or replace it anyway (--replace; API: put(spec, name, { replace: true })): its worker hands it over at once and it restarts with the new spec",
          id,
        );
      }
      if (oldText === "") return { pair: id, outcome: "added", previous: null };
      const { drain, ...before } = previous ?? ({} as FleetPairSpec);
      if (previous !== null && JSON.stringify(before) === JSON.stringify(checked)) return { pair: id, outcome: drain === true || status === "drained" ? "readded" : "unchanged", previous };
      return { pair: id, outcome: "replaced", previous };
    },
    async remove(pair) {
      const [[, removed] = []] = ((await link.call(`remove(${pair})`, (client) => client.multi().hdel(keys.pairs, pair).hdel(keys.status(pair), "status").exec())) ?? []) as Array<[unknown, unknown]>;
      return Number(removed) === 1;
    },
    async drain(pairs) {
      const now = await snapshot();
      const ids = pairs === "all" ? now.pairs.filter((pair) => pair.spec !== undefined && pair.status !== "drained").map((pair) => pair.id) : [...pairs];
      const unknown = ids.filter((id) => !now.pairs.some((pair) => pair.id === id));
      if (unknown.length > 0) {
        throw new ArgumentError(`fleet drain: no pair ${unknown.join(", ")} in ${keys.pairs} (pairs: ${now.pairs.map((pair) => pair.id).join(", ") || "none"})`, { argument: "pairs", value: unknown });
      }
      for (const id of ids) {
        const pair = now.pairs.find((candidate) => candidate.id === id);
        if (pair?.spec === undefined || pair.spec.drain) continue;
        const spec = { ...pair.spec, drain: true };
        await link.call(`drain(${id})`, (client) => client.hset(keys.pairs, id, JSON.stringify(spec)));
      }
      return ids;
    },
    async list() {
      const { live, pairs } = await snapshot();
      return { pairs: pairs.map(viewOf), workers: live };
    },
    async events(after = "-", count = 10_000) {
      const start = after === "-" ? "-" : `(${after}`;
      const entries = (await link.call("events", (client) => client.xrange(keys.events, start, "+", "COUNT", count))) as Array<[string, string[]]>;
      return entries.map(([id, fields]) => eventOf(id, fields));
    },
    close: () => link.close(),
  };
  return admin;
}

/**
 * The fleet's events as they come (`XREAD BLOCK` on `<prefix>events`, on a connection of its
 * own): from now, or after the entry `from` (`"0"`: the whole stream first). Unsubscribing
 * closes the connection.
 *
 * @example
 * fleetEvents$({ url: "redis://127.0.0.1:6379" }).subscribe((event) => console.log(event.action, event.pair, event.token));
 *
 * @param connection `{ url }` (the connection is opened for this subscription)
 * @param options the fleet's prefix, where to start, and who is told of outages
 */
export function fleetEvents$(connection: { url: string }, options: FleetEventsOptions = {}): Observable<FleetEvent> {
  const prefix = checkPrefix(options.prefix);
  const { events } = fleetKeys(prefix);
  return new Observable<FleetEvent>((subscriber) => {
    let closed = false;
    const link = new RedisLink(connection, { reconnectMinMs: 100, reconnectMaxMs: 2_000, callTimeoutMs: 5_000, report: () => undefined });
    let last = options.from;
    // Failed reads in a row: the wait before the next grows from 0.5 s to 5 s; the first is told (onError), and the recovery (onRecover).
    let failures = 0;
    const failed = async (error: unknown) => {
      if (failures++ === 0) options.onError?.(error instanceof Error ? error : new Error(String(error)));
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 500 * 2 ** (failures - 1))));
    };
    const recovered = () => {
      if (failures > 0) options.onRecover?.();
      failures = 0;
    };
    void (async () => {
      while (!closed) {
        if (last === undefined) {
          // "From now" pinned to the newest entry once, so that nothing between two reads is skipped.
          try {
            const [newest] = (await link.call("tail", (client) => client.xrevrange(events, "+", "-", "COUNT", 1))) as Array<[string, string[]]>;
            last = newest?.[0] ?? "0";
            recovered();
          } catch (error) {
            if (closed) return;
            await failed(error);
            continue;
          }
        }
        const after = last;
        try {
          const answer = (await link.call("tail", (client) => client.xread("COUNT", 100, "BLOCK", 1_000, "STREAMS", events, after))) as Array<[string, Array<[string, string[]]>]> | null;
          recovered();
          for (const [, entries] of answer ?? []) {
            for (const [id, fields] of entries) {
              last = id;
              if (!closed) subscriber.next(eventOf(id, fields));
            }
          }
        } catch (error) {
          if (closed) return;
          if (error instanceof Error && /closed/.test(error.message)) return;
          await failed(error);
        }
      }
    })();
    return () => {
      closed = true;
      void link.close();
    };
  });
}

/** Options of `fleetEvents$`. */
export interface FleetEventsOptions {
  /** The fleet's key prefix; default `"rxtrade:"`. */
  prefix?: string;
  /** Start after this entry (`"0"`: the whole stream); default from now. */
  from?: string;
  /** Told once per outage: a read failed (Redis unreachable, refused); it retries after 0.5 s, doubling up to 5 s. */
  onError?: (error: Error) => void;
  /** Told when a read succeeds again after an outage. */
  onRecover?: () => void;
}

export function checkPrefix(prefix: unknown = "rxtrade:"): string {
  if (typeof prefix !== "string" || prefix === "") throw new ArgumentError(`the fleet's prefix must be a non-empty string, e.g. "rxtrade:", got ${JSON.stringify(prefix)}`, { argument: "prefix", value: prefix });
  return prefix;
}
