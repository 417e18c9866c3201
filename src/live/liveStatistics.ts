import { ArgumentRangeError } from "../errors";
import { MINUTE_MS, type TickResult, type TickResultActive, type TickResultClosed } from "../model";
import { showValue } from "../showValue";
import type { EndedUnrecorded } from "./liveHistory";

/**
 * Statistics of one symbol and strategy over the signals its current loop closed, or, with a
 * journal, every run's (`Live.getData`, `journalStatistics`).
 */
export interface LiveStatistics {
  /** Scheduled, opened, closed and cancelled results, and the open signal's latest active row; newest first. */
  eventList: TickResult[];
  totalEvents: number;
  totalClosed: number;
  winCount: number;
  lossCount: number;
  /** winCount / totalClosed x 100. */
  winRate: number | null;
  avgPnl: number | null;
  totalPnl: number;
  /** Population standard deviation of the closed PnLs. */
  stdDev: number | null;
  /** avgPnl / stdDev. */
  sharpeRatio: number | null;
  /** sharpeRatio x sqrt(365). */
  annualizedSharpeRatio: number | null;
  /** Mean winning PnL / |mean losing PnL|. */
  certaintyRatio: number | null;
  /** avgPnl x 365 / mean holding time in days. */
  expectedYearlyReturns: number | null;
  /** Largest fall of the running sum of PnL from an earlier peak (the sum starts at 0), percentage points. */
  maxDrawdown: number | null;
  /**
   * Additive, from a journal only, present when there are any: signals that ended unrecorded —
   * the journal last showed them scheduled or open, and a later run found the store no longer
   * holding them (a process killed between the store write and the journal append). How, when
   * and at what price they ended is unknown: they are in no number above.
   */
  endedUnrecorded?: EndedUnrecorded[];
  /**
   * Additive, present only when these statistics should have come from a journal and could
   * not: why (`history unavailable: …`, the `JournalError`'s message). They are then those of
   * the pair's current (or last) loop, from memory.
   */
  historyUnavailable?: string;
  /**
   * Additive, present only when `eventList` had to leave events out (more than `maxEvents`):
   * how many older events are not in it. `totalEvents + omittedEvents` is the true total.
   */
  omittedEvents?: number;
}

export const DEFAULT_MAX_EVENTS = 250;
const DAY_MS = 24 * 60 * MINUTE_MS;
// A standard deviation this small relative to the mean PnL (or absolutely, in percentage points)
// is float noise of equal PnLs (three equal closes give ~2.7e-15): treated as zero, so no ratio
// divides by it (a Sharpe ratio in the trillions).
const STD_DEV_TOLERANCE = 1e-9;

/**
 * Accumulates `LiveStatistics` from tick results in O(1) memory per closed signal: running
 * sums (Welford's algorithm for the variance), and an event list bounded to `maxEvents` rows.
 */
export class LiveStatisticsCollector {
  private events: TickResult[] = []; // oldest first; reversed on read
  private closed = 0;
  private wins = 0;
  private losses = 0;
  private winSum = 0;
  private lossSum = 0;
  private mean = 0;
  private m2 = 0;
  private sum = 0;
  private peak = 0;
  private drawdown = 0;
  private heldMs = 0;
  private recorded = 0; // events ever pushed, for the omitted count

  constructor(readonly maxEvents = DEFAULT_MAX_EVENTS) {
    if (!Number.isSafeInteger(maxEvents) || maxEvents <= 0) {
      throw new ArgumentRangeError(`maxEvents (${showValue(maxEvents)}) must be a positive integer, e.g. ${DEFAULT_MAX_EVENTS} (the default)`, {
        argument: "maxEvents",
        value: maxEvents,
      });
    }
  }

  /** Takes one tick result; idle results and repeated `scheduled` rows are not events. */
  record(result: TickResult): void {
    switch (result.action) {
      case "idle":
        return;
      case "scheduled":
        if (result.timestamp !== result.signal.scheduledAt) return;
        this.push(result);
        return;
      case "active": {
        const last = this.events[this.events.length - 1];
        // The open signal's latest active row replaces its previous one, where that one stands.
        if (last !== undefined && last.action === "active" && last.signal.id === result.signal.id) {
          this.events[this.events.length - 1] = result;
        } else this.push(result);
        return;
      }
      case "closed":
        this.push(result);
        this.close(result);
        return;
      default:
        this.push(result);
    }
  }

  /** The latest `active` row of the signal open now, if one is open (its close not recorded yet). */
  openActive(): TickResultActive | undefined {
    const last = this.events[this.events.length - 1];
    return last?.action === "active" ? last : undefined;
  }

  snapshot(): LiveStatistics {
    const n = this.closed;
    const avgPnl = n > 0 ? this.sum / n : null;
    const rawStdDev = n > 0 ? Math.sqrt(Math.max(0, this.m2 / n)) : null;
    const stdDev = rawStdDev !== null && avgPnl !== null && rawStdDev <= STD_DEV_TOLERANCE * Math.max(1, Math.abs(avgPnl)) ? 0 : rawStdDev;
    const sharpeRatio = avgPnl !== null && stdDev !== null && stdDev > 0 ? avgPnl / stdDev : null;
    const meanDays = n > 0 ? this.heldMs / n / DAY_MS : 0;
    const eventList = this.events.slice(-this.maxEvents).reverse();
    const omitted = this.recorded - eventList.length;
    return {
      ...(omitted > 0 ? { omittedEvents: omitted } : {}),
      eventList,
      totalEvents: eventList.length,
      totalClosed: n,
      winCount: this.wins,
      lossCount: this.losses,
      winRate: n > 0 ? (this.wins / n) * 100 : null,
      avgPnl,
      totalPnl: this.sum,
      stdDev,
      sharpeRatio: finite(sharpeRatio),
      annualizedSharpeRatio: finite(sharpeRatio === null ? null : sharpeRatio * Math.sqrt(365)),
      certaintyRatio: finite(this.wins > 0 && this.losses > 0 ? this.winSum / this.wins / Math.abs(this.lossSum / this.losses) : null),
      expectedYearlyReturns: finite(avgPnl !== null && meanDays > 0 ? (avgPnl * 365) / meanDays : null),
      maxDrawdown: n > 0 ? this.drawdown : null,
    };
  }

  private push(result: TickResult): void {
    this.recorded++;
    this.events.push(result);
    // Trim in batches: one splice per maxEvents/4 events keeps recording O(1) amortised.
    if (this.events.length > this.maxEvents + Math.max(1, this.maxEvents >> 2)) {
      this.events.splice(0, this.events.length - this.maxEvents);
    }
  }

  private close(result: TickResultClosed): void {
    const pnl = result.pnl.pnlPercentage;
    this.closed++;
    if (pnl > 0) {
      this.wins++;
      this.winSum += pnl;
    } else if (pnl < 0) {
      this.losses++;
      this.lossSum += pnl;
    }
    const delta = pnl - this.mean;
    this.mean += delta / this.closed;
    this.m2 += delta * (pnl - this.mean);
    this.sum += pnl;
    if (this.sum > this.peak) this.peak = this.sum;
    if (this.peak - this.sum > this.drawdown) this.drawdown = this.peak - this.sum;
    this.heldMs += result.closeTimestamp - result.signal.pendingAt;
  }
}

/** `LiveStatistics` of a list of tick results (oldest first). */
export function liveStatistics(results: Iterable<TickResult>, maxEvents = DEFAULT_MAX_EVENTS): LiveStatistics {
  const collector = new LiveStatisticsCollector(maxEvents);
  for (const result of results) collector.record(result);
  return collector.snapshot();
}

function finite(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}
