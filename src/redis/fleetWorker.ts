import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { SchedulerLike, Subscription } from "rxjs";
import { getConfig } from "../config";
import { ArgumentError, ArgumentRangeError, StoreLockedError } from "../errors";
import { FleetError } from "./fleetErrors";
import { error$ } from "../events";
import { tradeLoop$ } from "../liveTrade";
import type { ExchangeSchema, SignalStore, StrategySchema } from "../model";
import { batchedScheduler } from "../schedulers/batchedScheduler";
import { pacedScheduler, type PacedScheduler } from "../schedulers/pacedScheduler";
import { PairRuntime, record } from "../service/pairRuntime";
import type { ServiceEvent } from "../service/serviceTypes";
import { decodeState } from "../stateCodec";
import { tradeContext } from "../tradeContext";
import { checkPrefix } from "./fleetAdmin";
import { EVENTS_MAXLEN, fleetKeys, HEARTBEAT, LEAVE, NOTE, SNAPSHOT } from "./fleetKeys";
import { FleetTimings } from "./fleetTimings";
import { type FleetPairSpec, parseSnapshot, type SnapshotPair } from "./fleetTypes";
import { type RedisConnection, RedisLink } from "./redisConnection";
import type { RedisRelease } from "./redisLease";
import { runScript } from "./redisScripts";
import { redisStore } from "./redisStore";

const MINUTE_MS = 60_000;
/** Claims a worker makes at once in a round. */
const CLAIMS_AT_ONCE = 8;

/** What a worker trades a pair with: its spec resolved to a strategy and an exchange. */
export interface FleetPairResolved {
  strategy: StrategySchema;
  exchange: ExchangeSchema;
  /**
   * Where the pair's data runs out (its clock's time, epoch ms), for an exchange that replays a
   * finite series: from `dataEnd − (CC_SCHEDULE_AWAIT_MINUTES + CC_MAX_SIGNAL_LIFETIME_MINUTES)`
   * on, the pair drains — no new signal; the open one, scheduled then open for as long as the
   * config allows, still closes within the data (the demo stops taking signals as early) —
   * and is then `drained` for good. Default: no end.
   */
  dataEnd?: number;
}

/** The fleet's simulated clock (`speed`): its origin (epoch ms, `<prefix>clock`) and speed. */
export interface FleetClock {
  origin: number;
  speed: number;
}

/** Options of `fleetWorker`. */
export interface FleetWorkerOptions {
  /** Redis: `{ url }` (the worker opens its connections) or `{ client }`. */
  redis: RedisConnection;
  /** The fleet's key prefix; default `"rxtrade:"`. */
  prefix?: string;
  /** Unique in the fleet; default `<host>:<pid>`. A second live worker of one name is refused. */
  name?: string;
  /** At most this many pairs; default no limit (it takes its share: ceil(pairs / live workers)). */
  capacity?: number;
  /** A pair's lease (and the worker's heartbeat) without renewal, ms; default 15 000. */
  leaseMs?: number;
  /** How often the worker looks at the fleet (claims, balances, drains, heartbeats), ms; default leaseMs / 5. */
  pollMs?: number;
  /**
   * Simulated minutes per wall second: every pair's clock is paced at that speed from the
   * fleet's origin in Redis (`<prefix>clock`, set by the first worker to `from`), so a pair
   * taken over continues at the same simulated time. Workers of one fleet must agree on it.
   */
  speed?: number;
  /** With `speed`: the simulated origin the first worker stores (epoch ms); default the current minute. */
  from?: number;
  /**
   * The pair's strategy and exchange from its spec; `clock` is the pair's clock (for an exchange
   * that serves simulated time, e.g. `bundledExchange`); `fleetClock` the fleet's simulated clock
   * with `speed` (e.g. to end a replayed series a fixed length after its origin: `dataEnd`).
   */
  resolve(spec: FleetPairSpec, clock: Pick<SchedulerLike, "now">, fleetClock: FleetClock | undefined): FleetPairResolved | Promise<FleetPairResolved>;
  /** JSON-line logs (pino), e.g. `serviceLogger()` of rxtrade/service; default none. */
  logger?: Logger | false;
}

/** A running worker (see `fleetWorker`). */
export interface FleetWorker {
  readonly name: string;
  /** The pairs it trades now, by id. */
  pairs(): string[];
  /** Hands its pairs over: stops their loops without stopping the pairs (open signals stay in Redis), releases their leases at once, leaves the fleet. */
  stop(): Promise<void>;
  /** Resolves once it has stopped. */
  readonly done: Promise<void>;
}

interface HeldPair {
  readonly id: string;
  spec: FleetPairSpec;
  readonly release: RedisRelease;
  readonly runtime: PairRuntime;
  readonly clock: PacedScheduler | undefined;
  subscription: Subscription | undefined;
  /** Its data's end, less the drain's margin (its clock's time): it drains from then on, saying `dataEnds`. */
  drainAt: number | undefined;
  dataEnds: string | undefined;
  /** Why it drains when the worker decided it (its data ends), for its `drained` event. */
  drainWhy: string | undefined;
  /** Its notes to Redis (events, status), in order. */
  chain: Promise<void>;
  /** The last tick written to its status. */
  flushedTickAt: number | null;
  ended: boolean;
}

/**
 * A worker of a fleet on Redis: it claims pairs of the fleet's desired set (`<prefix>pairs`,
 * see `fleetAdmin`) by lease — `redisStore`'s lock, with its fencing token — and runs each one
 * as `rxtrade/service` runs a pair (the engine's live loop, on its own clock), resuming what
 * Redis holds for it. Every worker heartbeats `<prefix>worker:<name>` (TTL `leaseMs`) and
 * takes at most its share, ceil(pairs / live workers) (and `capacity`): a worker that joins
 * gets pairs handed over by the others; one that leaves (`stop`: its leases released at once)
 * or dies (its leases expire after `leaseMs`) has its pairs taken over by the others, open
 * positions going on under the same signal ids. A pair whose lease is lost (a pause past the
 * lease) is dropped at once — the store refuses its writes — and claimed again only when free.
 * Drains (`fleet drain`) close what is open, then stop the pair for good.
 *
 * Every worker's events go to the capped stream `<prefix>events` (`XADD … MAXLEN ~ 10000`):
 * `claimed`, `resumed` (a signal taken over: never a second `opened`), `scheduled`, `opened`,
 * `closed`, `cancelled`, `ended` (a signal whose holder ended it in the store but died before
 * announcing how, announced by the next holder with `late=1`), `error`, `lost`, `released`,
 * `drained`, each with `action`, `pair`, `worker`, `token` (the fencing token held), `signalId`
 * and `at` (the pair's clock). A note is written by a script that checks the pair's fencing
 * counter is still the worker's token: no event of an old holder lands after a newer holder's
 * first.
 *
 * ```
 * worker A:  claim 1 2 3 ----------X (SIGKILL)
 * worker B:  claim 4 5 6 ---------------- claim 1 2 3 (after leaseMs; resumed)
 * ```
 *
 * @example
 * import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
 * import { bundledExchange, serviceLogger } from "rxtrade/service";
 * import { fleetWorker } from "rxtrade/redis";
 * const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
 * const worker = await fleetWorker({
 *   redis: { url: "redis://127.0.0.1:6379" },
 *   name: "w1",
 *   speed: 600,
 *   resolve: (spec, clock) => ({ strategy: myStrategies[spec.strategy], exchange: bundledExchange(candles, clock) }),
 *   logger: serviceLogger(),
 * });
 * process.once("SIGTERM", () => void worker.stop());
 * await worker.done;
 *
 * @param options Redis, the prefix, the worker's name and capacity, the lease, the clock, how pairs resolve
 */
export async function fleetWorker(options: FleetWorkerOptions): Promise<FleetWorker> {
  const prefix = checkPrefix(options.prefix);
  const keys = fleetKeys(prefix);
  const name = options.name ?? `${hostname()}:${process.pid}`;
  if (typeof name !== "string" || name === "" || /[\s*?[\]]/.test(name)) {
    throw new ArgumentError(`fleetWorker option name must be a non-empty string without spaces or * ? [ ], got ${JSON.stringify(name)}`, { argument: "options.name", value: name });
  }
  const leaseMs = options.leaseMs ?? 15_000;
  if (!(Number.isInteger(leaseMs) && leaseMs >= 50)) throw new ArgumentRangeError(`fleetWorker option leaseMs (${leaseMs}) must be a whole number of ms, at least 50, e.g. 15000`, { argument: "options.leaseMs", value: leaseMs });
  const pollMs = options.pollMs ?? Math.max(20, Math.floor(leaseMs / 5));
  const capacity = options.capacity ?? Number.POSITIVE_INFINITY;
  if (!(capacity >= 1)) throw new ArgumentRangeError(`fleetWorker option capacity (${capacity}) must be at least 1`, { argument: "options.capacity", value: capacity });
  const { speed, logger: givenLogger } = options;
  if (speed !== undefined && !(speed > 0 && speed <= 100_000)) throw new ArgumentRangeError(`fleetWorker option speed (${speed}) must be from 1 to 100000 simulated minutes per second`, { argument: "options.speed", value: speed });
  const logger = givenLogger === false ? undefined : givenLogger;

  const report = (error: Error) => logger?.warn({ kind: error.name, error: error.message }, "redis");
  const link = new RedisLink(options.redis, { reconnectMinMs: 100, reconnectMaxMs: 5_000, callTimeoutMs: Math.max(1_000, leaseMs), report });
  const store = redisStore(options.redis, { prefix, leaseMs, onError: report });
  const me = JSON.stringify({ name, id: randomBytes(6).toString("hex"), pid: process.pid, host: hostname() });

  const heartbeat = async (): Promise<void> => {
    const [ok, holder] = (await link.call("heartbeat", (client) => runScript(client, HEARTBEAT, [keys.worker(name), keys.workers], [me, leaseMs, name]))) as [number, string?];
    if (ok !== 1) {
      throw new FleetError(`a worker named ${name} is already in the fleet ${prefix} (${holder ?? "?"}); give this one another name (--name), or stop that one first`);
    }
  };
  try {
    await heartbeat();
  } catch (error) {
    await Promise.all([link.close(), store.close()]);
    throw error;
  }

  // The fleet's simulated clock: one origin for all workers, so a pair keeps its time across owners.
  let simulatedNow: (() => number) | undefined;
  let fleetClock: FleetClock | undefined;
  if (speed !== undefined) {
    const origin = options.from ?? Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    const text = await link.call("clock", async (client) => {
      await client.set(keys.clock, JSON.stringify({ origin, wall: Date.now(), speed }), "NX");
      return client.get(keys.clock);
    });
    const clock = JSON.parse(text ?? "{}") as { origin: number; wall: number; speed: number };
    if (clock.speed !== speed) {
      await Promise.all([link.call("leave", (client) => runScript(client, LEAVE, [keys.worker(name), keys.workers], [me, name])).catch(() => undefined)]);
      await Promise.all([link.close(), store.close()]);
      throw new ArgumentRangeError(`the fleet ${prefix} runs its clock at speed ${clock.speed} (set by its first worker in ${keys.clock}); give this worker speed ${clock.speed}, or use another prefix`, {
        argument: "options.speed",
        value: speed,
      });
    }
    simulatedNow = () => clock.origin + (Date.now() - clock.wall) * clock.speed * (MINUTE_MS / 1000);
    fleetClock = { origin: clock.origin, speed: clock.speed };
  }
  const realClock = speed === undefined ? batchedScheduler() : undefined;
  const timings = FleetTimings.fromEnv(name);

  const held = new Map<string, HeldPair>();
  let stopping = false;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));

  /** Writes status fields and (optionally) an event of a pair, fenced by its token, after its earlier notes. */
  const note = (pair: HeldPair, status: Record<string, string | number>, event?: { action: string; signalId?: string; at?: number; [field: string]: unknown }): Promise<void> => {
    const statusArgs = Object.entries(status).flatMap(([field, value]) => [field, String(value)]);
    const eventArgs =
      event === undefined
        ? []
        : Object.entries({ ...event, pair: pair.id, worker: name, token: pair.release.token, signalId: event.signalId ?? "", at: new Date(event.at ?? pair.runtime.scheduler.now()).toISOString() }).flatMap(
            ([field, value]) => [field, String(value)],
          );
    pair.chain = pair.chain.then(() =>
      link
        .call(`note(${pair.id})`, (client) => runScript(client, NOTE, [store.keysOf(pair.id).fence, keys.status(pair.id), keys.events], [pair.release.token, EVENTS_MAXLEN, statusArgs.length, ...statusArgs, ...eventArgs]))
        .then(
          (applied) => {
            if (applied !== 1 && event !== undefined) logger?.info({ pair: pair.id, token: pair.release.token, action: event.action }, "note refused: a newer holder took the pair");
          },
          (error: unknown) => logger?.warn({ pair: pair.id, error: error instanceof Error ? error.message : String(error) }, "cannot write the pair's status to Redis"),
        ),
    );
    return pair.chain;
  };

  const signalIdOf = (pair: HeldPair): string => {
    const last = pair.runtime.last;
    return last === undefined || last.signal === null || last.action === "closed" || last.action === "cancelled" ? "" : last.signal.id;
  };

  // The engine's errors, routed to the pairs by key (as the service does).
  const errors = error$.subscribe((error) => {
    const { symbol, strategyName, key } = error as { symbol?: string; strategyName?: string; key?: unknown };
    const id = symbol !== undefined && strategyName !== undefined ? `${symbol}:${strategyName}` : typeof key === "string" ? key : undefined;
    const pair = id === undefined ? undefined : held.get(id);
    if (pair === undefined || pair.ended) return;
    logger?.warn({ pair: pair.id, kind: error.name, error: error.message }, "error");
    void note(pair, {}, { action: "error", signalId: signalIdOf(pair), kind: error.name || "Error", message: error.message.slice(0, 500) });
  });

  const end = (pair: HeldPair) => {
    if (pair.ended) return;
    pair.ended = true;
    pair.clock?.stop();
    if (held.get(pair.id) === pair) held.delete(pair.id);
  };

  const claim = async (candidate: SnapshotPair): Promise<void> => {
    const spec = candidate.spec as FleetPairSpec;
    let release: RedisRelease;
    try {
      release = await store.lock(candidate.id);
    } catch (error) {
      if (!(error instanceof StoreLockedError)) logger?.warn({ pair: candidate.id, error: (error as Error).message }, "cannot claim");
      return;
    }
    if (stopping) {
      release();
      return;
    }
    let scheduler: SchedulerLike | undefined;
    const clockView = { now: () => (scheduler ?? realClock ?? { now: Date.now }).now() };
    let runtime: PairRuntime;
    let clock: PacedScheduler | undefined;
    let resumed: { id: string; status: "scheduled" | "opened" } | undefined;
    let named = "";
    let resolved: FleetPairResolved;
    try {
      // The signal the pair's events last announced, read under the lease: the snapshot may
      // predate the last note of a holder whose lease had expired (notes are fenced by token).
      named = (await link.call(`status(${candidate.id})`, (client) => client.hget(keys.status(candidate.id), "signalId"))) ?? "";
      resolved = await options.resolve(spec, clockView, fleetClock);
      const context = tradeContext(spec.symbol, resolved.strategy, { exchange: resolved.exchange, ...(spec.tickMs === undefined ? {} : { tickMs: spec.tickMs }) });
      const expected = `${spec.symbol}:${context.identity.strategyName}`;
      if (expected !== candidate.id) throw new FleetError(`pair ${candidate.id}'s strategy ${spec.strategy} is named ${context.identity.strategyName}: its id would be ${expected}; add it again (fleet add) so that its id names its strategy`, candidate.id);
      const state = decodeState(await store.read(candidate.id), candidate.id, context.identity);
      if (state !== null) resumed = { id: state.signal.id, status: state.status };
      if (simulatedNow !== undefined) {
        const since = state === null ? 0 : state.status === "opened" ? state.signal.pendingAt : state.signal.scheduledAt;
        const lastTick = candidate.lastTickAt === "" ? 0 : Date.parse(candidate.lastTickAt);
        clock = pacedScheduler({ origin: Math.max(simulatedNow(), since, Number.isFinite(lastTick) ? lastTick : 0), speed: (speed as number) * (MINUTE_MS / 1000) });
        scheduler = clock;
      } else scheduler = realClock as SchedulerLike;
      runtime = new PairRuntime(spec.symbol, context.identity.strategyName, context.identity.exchangeName, context.tickMs, scheduler, context.limits.stallMs);
    } catch (error) {
      release();
      clock?.stop();
      logger?.error({ pair: candidate.id, error: error instanceof Error ? error.message : String(error) }, "cannot start the pair");
      return;
    }
    if (stopping) {
      release();
      clock?.stop();
      return;
    }
    const pair: HeldPair = { id: candidate.id, spec, release, runtime, clock, subscription: undefined, drainAt: undefined, dataEnds: undefined, drainWhy: undefined, chain: Promise.resolve(), flushedTickAt: null, ended: false };
    held.set(pair.id, pair);
    runtime.log = logger?.child({ pair: pair.id, token: release.token });
    runtime.log?.info({ resumed: resumed?.id ?? null }, "claimed");
    void note(pair, { status: "running", owner: name, token: release.token, lastTickAt: "" }, { action: "claimed", signalId: resumed?.id ?? "" });
    // The status's signal is written only with the event that announces it (a holder may die
    // between two notes). A signal it names that the store no longer holds was ended (closed or
    // cancelled) by a holder that died, or lost its lease, between the store write and the
    // event: its end is announced now, once, as `ended`. A stored signal it does not name was
    // opened by such a holder: announced now, once, as opened (or scheduled).
    if (named !== "" && named !== resumed?.id) void note(pair, { signalId: "" }, { action: "ended", signalId: named, late: 1 });
    if (resumed !== undefined) void note(pair, { signalId: resumed.id }, { action: named === resumed.id ? "resumed" : resumed.status, signalId: resumed.id, ...(named === resumed.id ? {} : { late: 1 }) });

    // The lease this worker took is the one the loop locks with: the engine's lock of this key gets it.
    let handed = false;
    const leased: SignalStore & { lockScope: string } = {
      read: (key) => store.read(key),
      write: timings === undefined ? (key, value) => store.write(key, value) : (key, value) => timings.time(() => store.write(key, value)),
      lock: (key) => {
        if (key === pair.id && !handed) {
          handed = true;
          return Promise.resolve(release);
        }
        return store.lock(key);
      },
      lockScope: store.lockScope,
    };
    const announce = (event: ServiceEvent) => {
      if (!("result" in event)) return;
      const result = event.result;
      runtime.log?.info({ action: event.kind, signalId: result.signal?.id }, event.kind);
      const closedOrCancelled = event.kind === "closed" || event.kind === "cancelled";
      void note(
        pair,
        { signalId: closedOrCancelled ? "" : (result.signal?.id ?? ""), lastTickAt: new Date(event.at).toISOString() },
        { action: event.kind, signalId: result.signal?.id ?? "", at: event.at, ...(result.action === "closed" ? { pnl: result.pnl.pnlPercentage } : {}) },
      );
    };
    pair.subscription = tradeLoop$(spec.symbol, resolved.strategy, { exchange: resolved.exchange, store: leased, scheduler, tickMs: runtime.tickMs, stop$: runtime.stop$ }).subscribe({
      next: (result) => record(runtime, result, announce),
      complete: () => {
        const wasDraining = runtime.draining;
        end(pair);
        if (wasDraining) {
          runtime.log?.info({ ...(pair.drainWhy === undefined ? {} : { why: pair.drainWhy }) }, "drained");
          void note(pair, { status: "drained", signalId: "" }, { action: "drained", ...(pair.drainWhy === undefined ? {} : { why: pair.drainWhy }) });
        }
      },
      error: (error: unknown) => {
        end(pair);
        const lost = error instanceof StoreLockedError;
        runtime.log?.warn({ kind: (error as Error)?.name, error: (error as Error)?.message }, lost ? "lost" : "failed");
        void note(pair, {}, { action: lost ? "lost" : "error", signalId: signalIdOf(pair), message: String((error as Error)?.message ?? error).slice(0, 500) });
      },
    });
    if (spec.drain) drain(pair);
    else if (resolved.dataEnd !== undefined) {
      // The demo's rule: no signal after this, so that the last one closes within the data. On
      // the pair's own clock, so a paced clock drains at that simulated time exactly; every
      // holder computes the same time, so a pair taken over mid-drain drains again at once.
      const { CC_SCHEDULE_AWAIT_MINUTES, CC_MAX_SIGNAL_LIFETIME_MINUTES } = getConfig();
      const drainAt = resolved.dataEnd - (CC_SCHEDULE_AWAIT_MINUTES + CC_MAX_SIGNAL_LIFETIME_MINUTES) * MINUTE_MS;
      const why = `its data ends at ${new Date(resolved.dataEnd).toISOString()}: no new signal from ${new Date(drainAt).toISOString()}`;
      pair.drainAt = drainAt;
      pair.dataEnds = why;
      if (clock !== undefined) {
        const timer = clock.schedule(() => drain(pair, why), Math.max(0, drainAt - clock.now()));
        pair.subscription.add(timer);
      } else if (scheduler.now() >= drainAt) drain(pair, why);
    }
  };

  const drain = (pair: HeldPair, why?: string) => {
    if (pair.runtime.draining || pair.ended) return;
    pair.runtime.draining = true;
    pair.drainWhy = why;
    pair.runtime.log?.info(why === undefined ? {} : { why }, "draining");
    pair.runtime.stop$.next();
  };

  /** Stops trading a pair here without stopping it: its loop unsubscribed, its lease released at once. */
  const handOver = (pair: HeldPair, why: string) => {
    if (pair.ended) return;
    end(pair);
    pair.subscription?.unsubscribe(); // the engine's lock stage releases the lease
    pair.runtime.log?.info({ why }, "released");
    void note(pair, { signalId: signalIdOf(pair), ...(pair.runtime.lastTickAt === null ? {} : { lastTickAt: new Date(pair.runtime.lastTickAt).toISOString() }) }, { action: "released", signalId: signalIdOf(pair), why });
  };

  const round = async (): Promise<void> => {
    await heartbeat();
    const { live, pairs } = parseSnapshot(await link.call("fleet snapshot", (client) => runScript(client, SNAPSHOT, [], [prefix])));
    if (stopping) return;
    const wanted = new Map(pairs.map((pair) => [pair.id, pair]));
    for (const pair of [...held.values()]) {
      const now = wanted.get(pair.id);
      if (now?.spec === undefined) handOver(pair, "removed from the fleet");
      else if (now.spec.drain) drain(pair);
      // On the wall clock (no speed), a round's precision is plenty.
      else if (pair.drainAt !== undefined && pair.clock === undefined && pair.runtime.scheduler.now() >= pair.drainAt) drain(pair, pair.dataEnds);
    }
    timings?.dump();
    // The last ticks, for fleet list.
    for (const pair of held.values()) {
      const at = pair.runtime.lastTickAt;
      if (at !== null && at !== pair.flushedTickAt) {
        pair.flushedTickAt = at;
        void note(pair, { lastTickAt: new Date(at).toISOString(), signalId: signalIdOf(pair) });
      }
    }
    const active = pairs.filter((pair) => pair.spec !== undefined && pair.status !== "drained");
    const workers = Math.max(1, live.length + (live.includes(name) ? 0 : 1));
    const share = Math.min(capacity, Math.ceil(active.length / workers));
    const running = [...held.values()].filter((pair) => !pair.ended);
    if (running.length > share) {
      // One at a time: the others' next rounds see it free.
      const spare = running.find((pair) => !pair.runtime.draining) ?? running[0];
      if (spare !== undefined) handOver(spare, `more than this worker's share (${share} of ${active.length} pairs for ${workers} workers)`);
      return;
    }
    const free = active.filter((pair) => !pair.leased && !held.has(pair.id));
    // A different start per worker: workers that look at once try different pairs first.
    const offset = free.length === 0 ? 0 : Math.floor(Math.random() * free.length);
    const order = [...free.slice(offset), ...free.slice(0, offset)];
    // A few claims at once: a claim is some five round trips, and a killed worker's pairs are
    // claimed by whoever has room — often one new worker — so one at a time made the last of
    // 300 pairs wait seconds past the lease (bench/fleet.mjs).
    let next = 0;
    let claiming = 0;
    const claimer = async (): Promise<void> => {
      while (next < order.length && !stopping && held.size + claiming < share) {
        const candidate = order[next++] as SnapshotPair;
        claiming++;
        try {
          await claim(candidate);
        } finally {
          claiming--;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CLAIMS_AT_ONCE, order.length) }, claimer));
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: Promise<void> = Promise.resolve();
  const loop = async () => {
    timer = undefined;
    try {
      current = round();
      await current;
    } catch (error) {
      logger?.warn({ error: error instanceof Error ? error.message : String(error) }, "fleet round failed; retrying");
    }
    if (!stopping) timer = setTimeout(loop, pollMs);
  };
  logger?.info({ name, prefix, leaseMs, capacity: Number.isFinite(capacity) ? capacity : null, speed: speed ?? null }, "worker started");
  void loop();

  let stopped: Promise<void> | undefined;
  return {
    name,
    pairs: () => [...held.keys()].sort(),
    done,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (timer !== undefined) clearTimeout(timer);
        await current.catch(() => undefined);
        const chains: Array<Promise<void>> = [];
        for (const pair of [...held.values()]) {
          handOver(pair, "the worker stops");
          chains.push(pair.chain);
        }
        await Promise.all(chains);
        timings?.dump(true);
        errors.unsubscribe();
        await store.close();
        await link.call("leave", (client) => runScript(client, LEAVE, [keys.worker(name), keys.workers], [me, name])).catch(() => undefined);
        await link.close();
        logger?.info({ name }, "worker stopped");
        finished();
      })();
      return stopped;
    },
  };
}
