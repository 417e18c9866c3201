// What `fleetWorker` takes and returns: its options, how a pair resolves to a strategy and an
// exchange, the fleet's simulated clock, and the running worker.
import type { Logger } from "pino";
import type { SchedulerLike } from "rxjs";
import type { ExchangeSchema, StrategySchema } from "../model";
import type { FleetPairSpec } from "./fleetTypes";
import type { RedisConnection } from "./redisConnection";

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
  /** Resolves once it has stopped (by `stop`, or by itself: see `error`). */
  readonly done: Promise<void>;
  /**
   * Why it stopped by itself, or `undefined`: a `FleetError` when it lost its place in the fleet
   * (another worker took its name while it was not heard from for longer than its lease —
   * frozen, paused, cut off from Redis); it has stopped, its pairs handed over.
   */
  readonly error: Error | undefined;
}
