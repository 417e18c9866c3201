import type { CancelReason, CloseReason } from "../model";
import { escapeLabel, HistogramSeries } from "./metricsText";

/** `rxtrade_position_state`: what a pair holds. */
export const POSITION_STATE = { none: 0, scheduled: 1, opened: 2 } as const;

const TICK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];
/** The reasons of `rxtrade_closed_total`, each written from the start. */
export const CLOSE_REASONS: readonly CloseReason[] = ["take_profit", "stop_loss", "time_expired"];

/** One pair's series: plain counts, and each series' name with its labels, escaped once. */
export class PairMetrics {
  ticks = 0;
  /** A tick is under way: its price was asked for. */
  inTick = false;
  /** Ticks that asked for their price, for sampling. */
  ticksBegun = 0;
  /** When the tick under way asked for its price (performance.now()), if it is timed; else -1. */
  tickStartedAt = -1;
  positionState: number = POSITION_STATE.none;
  pnlTotal = 0;
  isStalled = false;
  readonly durations: HistogramSeries;
  readonly closedByReason = CLOSE_REASONS.map(() => 0);
  readonly cancelledByReason = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly names: { ticks: string; position: string; pnl: string; stalled: string; age: string };
  private readonly labels: string;
  private readonly extra = new Map<string, string>();

  constructor(
    readonly symbol: string,
    readonly strategy: string,
    /** The pair's last-tick age, s; `undefined` once its loop has ended (drained or failed): no series then. */
    readonly ageSeconds: () => number | undefined,
  ) {
    this.labels = `symbol="${escapeLabel(symbol)}",strategy="${escapeLabel(strategy)}"`;
    const series = (name: string) => `${name}{${this.labels}}`;
    this.durations = new HistogramSeries("rxtrade_tick_duration_seconds", this.labels, TICK_BUCKETS);
    this.names = {
      ticks: series("rxtrade_ticks_total"),
      position: series("rxtrade_position_state"),
      pnl: series("rxtrade_pnl_percent_total"),
      stalled: series("rxtrade_stalled"),
      age: series("rxtrade_last_tick_age_seconds"),
    };
  }

  /** `name{symbol=…,strategy=…,label="value"}`, escaped once per value. */
  labelled(name: string, label: string, value: string): string {
    const key = `${name}\u0000${value}`;
    let series = this.extra.get(key);
    if (series === undefined) {
      series = `${name}{${this.labels},${label}="${escapeLabel(value)}"}`;
      this.extra.set(key, series);
    }
    return series;
  }

  /** A tick completed: counted, and timed from its price request to now (if it is a sampled one). */
  tick(): void {
    this.ticks++;
    this.inTick = false;
    const started = this.tickStartedAt;
    if (started < 0) return;
    this.tickStartedAt = -1;
    this.durations.observe((performance.now() - started) / 1000);
  }

  /** A tick failed (an error of the pair): the next price request starts the next one. */
  attemptFailed(): void {
    this.inTick = false;
    this.tickStartedAt = -1;
  }

  position(state: number): void {
    this.positionState = state;
  }

  closed(reason: CloseReason, pnlPercent: number): void {
    const i = CLOSE_REASONS.indexOf(reason);
    if (i >= 0) this.closedByReason[i] = (this.closedByReason[i] as number) + 1;
    this.pnlTotal += pnlPercent;
  }

  cancelled(reason: CancelReason): void {
    this.cancelledByReason.set(reason, (this.cancelledByReason.get(reason) ?? 0) + 1);
  }

  error(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  stalled(stalled: boolean): void {
    this.isStalled = stalled;
  }
}
