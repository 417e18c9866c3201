import type { Logger } from "pino";
import { ReplaySubject, type SchedulerLike, type Subscription } from "rxjs";
import { LiveStatisticsCollector } from "../live/liveStatistics";
import type { TickResult } from "../model";
import { EquitySeries } from "./equitySeries";
import { type PairMetrics, POSITION_STATE } from "./serviceMetrics";
import type { PairFields, PairStatus, ServiceEvent } from "./serviceTypes";

/** Errors after which the tick still delivers its result (the strategy's are an idle tick). */
export const TICK_GOES_ON = new Set(["StrategyError", "InvalidSignalError", "StreamStalledError", "JournalError"]);

// The statistics keep running sums; their event list is not served (1 row, the least it takes).
const STATISTICS_EVENTS = 1;

/** One pair's loop and what the service knows of it. */
export class PairRuntime implements PairFields {
  readonly pair: string;
  readonly strategy: string;
  readonly exchange: string;
  status: PairStatus = "running";
  /** Its loop is subscribed (the pairs start in batches). */
  started = false;
  draining = false;
  /** Announced as stalled (the engine's stall watch or, on a paced clock, the service's wall-time one), not yet recovered. */
  hookStalled = false;
  /** The engine's stall watch said so (`LoopHooks.onHealth`). */
  engineStalled = false;
  /** The service's wall-time watch said so (a paced clock only: see `wallScale`). */
  wallStalled = false;
  /** Its last recovery, on its clock and in wall time (performance.now()): /health stays 503 for one tick period after it. */
  recoveredAt = Number.NEGATIVE_INFINITY;
  recoveredAtWall = Number.NEGATIVE_INFINITY;
  /**
   * The clock's ms per wall ms when it is a paced clock (`--speed`): such a clock does not move
   * while an exchange call is in flight, so the age of the last tick is also measured in wall
   * time, scaled (a hung exchange is a stall within the limit's wall-clock length). `undefined`
   * for a clock that moves with the wall clock (or a virtual one, which is the test's to move).
   */
  readonly wallScale: number | undefined;
  /** The clock's declared `timeScale` (clock ms per wall ms; 1 without one): its time limits keep their wall-clock length. */
  readonly timeScale: number;
  /** performance.now() at its last completed tick (or its start), for `wallScale`. */
  lastTickWall: number;
  lastTickAt: number | null = null;
  last: TickResult | undefined;
  error: Error | undefined;
  readonly startedAt: number;
  readonly stats = new LiveStatisticsCollector(STATISTICS_EVENTS);
  readonly equity = new EquitySeries();
  /** Its drain request; replayed to a loop that starts after it (the pairs start in batches). */
  readonly stop$ = new ReplaySubject<void>(1);
  subscription: Subscription | undefined;
  metrics: PairMetrics | undefined;
  log: Logger | undefined;
  /** Its trade lines, written directly, when its logger is a `serviceLogger` one. */
  directLog: ((fields: string, msg: string) => void) | undefined;

  constructor(
    readonly symbol: string,
    strategyName: string,
    exchangeName: string,
    readonly tickMs: number,
    readonly scheduler: SchedulerLike,
    readonly stallMs: number,
  ) {
    this.pair = `${symbol}:${strategyName}`;
    this.strategy = strategyName;
    this.exchange = exchangeName;
    this.startedAt = scheduler.now();
    this.wallScale = pacedScale(scheduler);
    const declared = (scheduler as { timeScale?: unknown }).timeScale;
    this.timeScale = typeof declared === "number" && declared > 0 ? declared : 1;
    this.lastTickWall = performance.now();
  }

  get ended(): boolean {
    return this.status === "done" || this.status === "failed";
  }

  /** The age of its last completed tick on its clock; on a paced clock, at least the wall time since, scaled (the clock may be held by a call in flight). */
  ageMs(): number {
    const age = Math.max(0, this.scheduler.now() - (this.lastTickAt ?? this.startedAt));
    return this.wallScale === undefined ? age : Math.max(age, (performance.now() - this.lastTickWall) * this.wallScale);
  }

  /** Less than a tick period (of wall time, as the stall limit: tickMs x the clock's `timeScale` on its clock) since its last recovery (measured as `ageMs`): /health still lists it, so a stall shorter than a probe's period is not missed. */
  recovering(): boolean {
    if (this.ended || this.recoveredAt === Number.NEGATIVE_INFINITY) return false;
    const since = this.scheduler.now() - this.recoveredAt;
    const wall = this.wallScale === undefined ? since : Math.max(since, (performance.now() - this.recoveredAtWall) * this.wallScale);
    return wall < this.tickMs * this.timeScale;
  }

  /** Stalled by the stall watch, or by the age of its last tick on its own clock (whichever says so first). */
  isStalled(): boolean {
    return this.started && !this.ended && (this.hookStalled || this.ageMs() >= this.stallMs);
  }

  currentStatus(): PairStatus {
    return this.isStalled() ? "stalled" : this.status;
  }

  fields(): PairFields {
    return { pair: this.pair, symbol: this.symbol, strategy: this.strategy };
  }
}

/** The tick path: one call per completed tick of every pair; announces the state changes only. */
export function record(pair: PairRuntime, result: TickResult, announce: (event: ServiceEvent, pair: PairRuntime) => void): void {
  pair.lastTickAt = pair.scheduler.now();
  if (pair.wallScale !== undefined) pair.lastTickWall = performance.now();
  pair.last = result;
  pair.stats.record(result);
  const metrics = pair.metrics;
  metrics?.tick();
  switch (result.action) {
    case "idle":
      metrics?.position(POSITION_STATE.none);
      return;
    case "active":
      metrics?.position(POSITION_STATE.opened);
      return;
    case "scheduled":
      metrics?.position(POSITION_STATE.scheduled);
      // Every tick of a waiting limit entry is `scheduled`: the first one is the change.
      if (result.timestamp !== result.signal.scheduledAt) return;
      break;
    case "opened":
      metrics?.position(POSITION_STATE.opened);
      break;
    case "closed":
      metrics?.position(POSITION_STATE.none);
      metrics?.closed(result.closeReason, result.pnl.pnlPercentage);
      pair.equity.add(result.timestamp, result.pnl.pnlPercentage);
      break;
    case "cancelled":
      metrics?.position(POSITION_STATE.none);
      metrics?.cancelled(result.cancelReason);
      break;
  }
  // One literal (no spread of fields()): one event per trade of every pair.
  announce({ kind: result.action, at: result.timestamp, pair: pair.pair, symbol: pair.symbol, strategy: pair.strategy, result }, pair);
}

/** A paced clock's `timeScale` (it has `callStarted` and holds its time for calls in flight), else `undefined`. */
function pacedScale(scheduler: SchedulerLike): number | undefined {
  const { timeScale, callStarted } = scheduler as { timeScale?: unknown; callStarted?: unknown };
  return typeof timeScale === "number" && timeScale > 0 && typeof callStarted === "function" ? timeScale : undefined;
}
