import type { Logger } from "pino";
import { type SchedulerLike, Subject, type Subscription } from "rxjs";
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
  draining = false;
  /** The stall watch said so (`LoopHooks.onHealth`). */
  hookStalled = false;
  lastTickAt: number | null = null;
  last: TickResult | undefined;
  error: Error | undefined;
  readonly startedAt: number;
  readonly stats = new LiveStatisticsCollector(STATISTICS_EVENTS);
  readonly equity = new EquitySeries();
  readonly stop$ = new Subject<void>();
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
  }

  get ended(): boolean {
    return this.status === "done" || this.status === "failed";
  }

  ageMs(): number {
    return Math.max(0, this.scheduler.now() - (this.lastTickAt ?? this.startedAt));
  }

  /** Stalled by the stall watch, or by the age of its last tick on its own clock (whichever says so first). */
  isStalled(): boolean {
    return !this.ended && (this.hookStalled || this.ageMs() >= this.stallMs);
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
