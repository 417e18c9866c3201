// `fleetWorker`: a worker of a fleet on Redis — its options checked, its connections, its join
// of the fleet, its rounds every pollMs, and its stop (the pairs handed over). What it does in a
// round: fleetRound; with a pair: fleetPairClaim, fleetPairStop, fleetPairNotes.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { ArgumentError, ArgumentRangeError } from "../errors";
import { selfIdentity } from "../node/processIdentity";
import { batchedScheduler } from "../schedulers/batchedScheduler";
import { checkPrefix } from "./fleetAdmin";
import { FleetError } from "./fleetErrors";
import { fleetKeys } from "./fleetKeys";
import { heartbeat, joinFleetClock, leave } from "./fleetMembership";
import { routeEngineErrors } from "./fleetPairNotes";
import { handOver } from "./fleetPairStop";
import { round } from "./fleetRound";
import { FleetTimings } from "./fleetTimings";
import type { FleetWorker, FleetWorkerOptions } from "./fleetWorkerOptions";
import type { FleetMember, FleetWorkerState } from "./fleetWorkerState";
import { RedisLink } from "./redisConnection";
import { redisStore } from "./redisStore";

export type { FleetClock, FleetPairResolved, FleetWorker, FleetWorkerOptions } from "./fleetWorkerOptions";

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
  const link = new RedisLink(options.redis, {
    reconnectMinMs: 100,
    reconnectMaxMs: 5_000,
    callTimeoutMs: Math.max(1_000, leaseMs),
    callTimeoutName: "the worker's lease (fleetWorker option leaseMs, rxtrade fleet worker --lease-ms; at least 1 s)",
    report,
  });
  const store = redisStore(options.redis, { prefix, leaseMs, onError: report });
  const me = JSON.stringify({ name, id: randomBytes(6).toString("hex"), pid: process.pid, host: hostname(), identity: selfIdentity() });
  const member: FleetMember = { name, prefix, keys, me, leaseMs, link };

  // The first heartbeat: retried while Redis does not answer (as every round's is) — a worker
  // started under load or before Redis waits for it; refused only when its name is taken.
  for (let attempt = 1; ; attempt++) {
    try {
      const took = await heartbeat(member);
      if (took !== undefined) logger?.warn({ name, was: took.replaced }, "took the place of a worker of this name whose process is gone (this host, this boot)");
      break;
    } catch (error) {
      if (error instanceof FleetError) {
        await Promise.all([link.close(), store.close()]);
        throw error;
      }
      const retryMs = Math.min(5_000, 250 * 2 ** (attempt - 1));
      logger?.warn({ attempt, retryMs, error: error instanceof Error ? error.message : String(error) }, "cannot join the fleet yet; retrying");
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }

  // The fleet's simulated clock: one origin for all workers, so a pair keeps its time across owners.
  const { simulatedNow, fleetClock, resync } = await joinFleetClock(member, store, speed, options.from);
  const realClock = speed === undefined ? batchedScheduler() : undefined;
  const timings = FleetTimings.fromEnv(name);

  const worker: FleetWorkerState = { ...member, options, store, logger, capacity, speed, simulatedNow, resync, fleetClock, realClock, timings, held: new Map(), failures: new Map(), stopping: false };
  const { held } = worker;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));

  // The engine's errors, routed to the pairs by key (as the service does).
  const errors = routeEngineErrors(worker);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let lostPlace: FleetError | undefined;
  let current: Promise<void> = Promise.resolve();
  const loop = async () => {
    timer = undefined;
    try {
      current = round(worker);
      await current;
    } catch (error) {
      if (error instanceof FleetError && error.pair === undefined && !worker.stopping) {
        // Its name was taken while it was not heard from (frozen, cut off): it is no longer in the fleet.
        lostPlace = new FleetError(
          `worker ${name} lost its place in the fleet ${prefix}: ${error.message.replace(/^rxtrade: /, "")} — another worker took its name while this one was not heard from for longer than its lease (${leaseMs} ms: paused, frozen or cut off from Redis). ` +
            "It stops; its pairs are the other workers'. Start it again under another name (--name) if the fleet needs it",
          undefined,
          error,
        );
        logger?.error({ name, error: lostPlace.message }, "lost its place in the fleet; stopping");
        void stop();
        return;
      }
      logger?.warn({ error: error instanceof Error ? error.message : String(error) }, "fleet round failed; retrying");
    }
    if (!worker.stopping) timer = setTimeout(loop, pollMs);
  };
  logger?.info({ name, prefix, leaseMs, capacity: Number.isFinite(capacity) ? capacity : null, speed: speed ?? null }, "worker started");
  void loop();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      worker.stopping = true;
      if (timer !== undefined) clearTimeout(timer);
      await current.catch(() => undefined);
      // Each pair's write in flight and the result it announces land before its lease is released.
      await Promise.all([...held.values()].map((pair) => handOver(worker, pair, "the worker stops")));
      timings?.dump(true);
      errors.unsubscribe();
      await store.close();
      await leave(member);
      await link.close();
      logger?.info({ name }, "worker stopped");
      finished();
    })();
    return stopped;
  };
  return {
    name,
    pairs: () => [...held.keys()].sort(),
    done,
    stop,
    get error() {
      return lostPlace;
    },
  };
}
