// What the parts of a fleet worker share: who it is in the fleet, its connections and clocks,
// and the pairs it holds.
import type { Logger } from "pino";
import type { SchedulerLike, Subscription } from "rxjs";
import type { PacedScheduler } from "../schedulers/pacedScheduler";
import type { PairRuntime } from "../service/pairRuntime";
import type { fleetKeys } from "./fleetKeys";
import type { FleetTimings } from "./fleetTimings";
import type { FleetPairSpec } from "./fleetTypes";
import type { FleetClock, FleetWorkerOptions } from "./fleetWorkerOptions";
import type { RedisLink } from "./redisConnection";
import type { RedisRelease } from "./redisLease";
import type { RedisStore } from "./redisStore";

/** Who a worker is in its fleet, and its link to Redis: what its heartbeat and its leaving need. */
export interface FleetMember {
  readonly name: string;
  readonly prefix: string;
  readonly keys: ReturnType<typeof fleetKeys>;
  /** Its entry in the fleet: name, a random id, pid and host (JSON). */
  readonly me: string;
  readonly leaseMs: number;
  readonly link: RedisLink;
}

/** A running worker's state, shared by its rounds, its claims and its pairs (built once by `fleetWorker`). */
export interface FleetWorkerState extends FleetMember {
  readonly options: FleetWorkerOptions;
  readonly store: RedisStore;
  readonly logger: Logger | undefined;
  readonly capacity: number;
  readonly speed: number | undefined;
  /** With `speed`: the fleet's simulated time now. */
  readonly simulatedNow: (() => number) | undefined;
  /** With `speed`: measures again how far this host's clock is from Redis's (at most every 30 s). */
  readonly resync: (() => Promise<void>) | undefined;
  readonly fleetClock: FleetClock | undefined;
  /** Without `speed`: the wall clock all its pairs share. */
  readonly realClock: SchedulerLike | undefined;
  readonly timings: FleetTimings | undefined;
  /** The pairs it holds, by id. */
  readonly held: Map<string, HeldPair>;
  /** The pairs it could not start lately, by id: attempts in a row, when to try again (epoch ms), and the spec tried (JSON). */
  readonly failures: Map<string, { count: number; nextAt: number; spec: string }>;
  /** Set by `stop`: no more claims. */
  stopping: boolean;
}

/** A pair a worker holds: its lease, its runtime and loop, its drain, its notes to Redis. */
export interface HeldPair {
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
  /** Its store write in flight (the loop's), if any: a hand-over waits for it and for the result it announces. */
  writing: Promise<unknown> | undefined;
  /** A hand-over asked for: why, and its end (the loop unsubscribed, `released` noted, the lease released after the notes). */
  handing: { why: string; done: Promise<void>; finish: () => void } | undefined;
}
