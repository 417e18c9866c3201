// LiveStatistics (API.md "Seed-compatible facade"): worked numbers for every field, from
// hand-built tick results fed to LiveStatisticsCollector / liveStatistics.
//
// With pnl = each closed signal's pnlPercentage in close order and N = totalClosed:
//   winRate = wins / N x 100; avgPnl = mean; totalPnl = sum; stdDev = population std dev;
//   sharpeRatio = avgPnl / stdDev; annualizedSharpeRatio = sharpeRatio x sqrt(365);
//   certaintyRatio = mean win / |mean loss|; expectedYearlyReturns = avgPnl x 365 / mean days held
//   (closeTimestamp - pendingAt); maxDrawdown = largest fall of the running sum from an earlier
//   peak, the sum starting at 0. Not computable -> null.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_EVENTS,
  LiveStatisticsCollector,
  liveStatistics,
  type LiveStatistics,
  type SignalRow,
  type TickResult,
  type TickResultActive,
  type TickResultClosed,
  type TickResultOpened,
} from "rxtrade";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.parse("2023-03-01T00:00:00Z");

const base = { symbol: "BTCUSDT", strategyName: "stats", exchangeName: "replay", backtest: false as const };

function row(id: string, pendingAt: number): SignalRow {
  return {
    id,
    position: "long",
    priceOpen: 100,
    priceTakeProfit: 102,
    priceStopLoss: 98,
    minuteEstimatedTime: 1440,
    note: "",
    ...base,
    scheduledAt: pendingAt,
    pendingAt,
  };
}

function opened(id: string, at: number): TickResultOpened {
  return { ...base, action: "opened", signal: row(id, at), currentPrice: 100, timestamp: at };
}

function active(id: string, pendingAt: number, at: number): TickResultActive {
  return { ...base, action: "active", signal: row(id, pendingAt), currentPrice: 101, timestamp: at, percentTp: 50, percentSl: 0 };
}

/** A closed signal with the given PnL, held `heldMs` (closeTimestamp - pendingAt). */
function closed(id: string, pnl: number, heldMs: number, pendingAt = T0): TickResultClosed {
  const closeTimestamp = pendingAt + heldMs;
  return {
    ...base,
    action: "closed",
    signal: row(id, pendingAt),
    currentPrice: 101,
    timestamp: closeTimestamp,
    closeReason: pnl >= 0 ? "take_profit" : "stop_loss",
    closeTimestamp,
    pnl: { pnlPercentage: pnl, priceOpen: 100, priceClose: 101 },
  };
}

/** Closed results with the given PnLs and holding times, one after the other. */
function closes(pnls: number[], heldMs: number[]): TickResultClosed[] {
  let at = T0;
  return pnls.map((pnl, i) => {
    const result = closed(`S${i + 1}`, pnl, heldMs[i] as number, at);
    at = result.closeTimestamp + MINUTE;
    return result;
  });
}

/** Every field of the statistics but the event list. */
function numbers(stats: LiveStatistics) {
  const { eventList: _eventList, ...rest } = stats;
  return rest;
}

describe("LiveStatistics with no closed signal", () => {
  it("no events at all: counts 0, totalPnl 0, every ratio null, maxDrawdown null", () => {
    expect(liveStatistics([])).toEqual({
      eventList: [],
      totalEvents: 0,
      totalClosed: 0,
      winCount: 0,
      lossCount: 0,
      winRate: null,
      avgPnl: null,
      totalPnl: 0,
      stdDev: null,
      sharpeRatio: null,
      annualizedSharpeRatio: null,
      certaintyRatio: null,
      expectedYearlyReturns: null,
      maxDrawdown: null,
    });
    expect(new LiveStatisticsCollector().snapshot()).toEqual(liveStatistics([]));
  });

  it("an open signal but nothing closed: its events are listed, the ratios are still null", () => {
    const stats = liveStatistics([opened("A", T0), active("A", T0, T0 + MINUTE)]);
    expect(stats.totalEvents).toBe(2);
    expect(numbers(stats)).toEqual({
      totalEvents: 2,
      totalClosed: 0,
      winCount: 0,
      lossCount: 0,
      winRate: null,
      avgPnl: null,
      totalPnl: 0,
      stdDev: null,
      sharpeRatio: null,
      annualizedSharpeRatio: null,
      certaintyRatio: null,
      expectedYearlyReturns: null,
      maxDrawdown: null,
    });
  });
});

describe("LiveStatistics worked numbers", () => {
  it("mixed wins and losses: every field", () => {
    // pnl = +3, -1, +5, -3; held 12 h, 36 h, 24 h, 48 h.
    const stats = liveStatistics(closes([3, -1, 5, -3], [12 * HOUR, 36 * HOUR, 24 * HOUR, 48 * HOUR]));
    // N = 4; wins 3, 5 (2); losses -1, -3 (2); winRate = 2 / 4 x 100 = 50
    expect(stats.totalClosed).toBe(4);
    expect(stats.winCount).toBe(2);
    expect(stats.lossCount).toBe(2);
    expect(stats.winRate).toBe(50);
    // totalPnl = 3 - 1 + 5 - 3 = 4; avgPnl = 4 / 4 = 1
    expect(stats.totalPnl).toBe(4);
    expect(stats.avgPnl).toBe(1);
    // deviations 2, -2, 4, -4 -> squares 4 + 4 + 16 + 16 = 40 -> variance 40 / 4 = 10 -> stdDev sqrt(10) = 3.16228
    expect(stats.stdDev).toBeCloseTo(Math.sqrt(10), 12);
    expect(stats.stdDev).toBeCloseTo(3.16228, 5);
    // sharpe = 1 / sqrt(10) = 0.316228; annualized = sqrt(365) / sqrt(10) = sqrt(36.5) = 6.041523
    expect(stats.sharpeRatio).toBeCloseTo(0.316228, 6);
    expect(stats.annualizedSharpeRatio).toBeCloseTo(Math.sqrt(36.5), 10);
    expect(stats.annualizedSharpeRatio).toBeCloseTo(6.041523, 6);
    // certainty = mean win (3 + 5) / 2 = 4 over |mean loss (-1 - 3) / 2| = 2 -> 2
    expect(stats.certaintyRatio).toBe(2);
    // mean held = (12 + 36 + 24 + 48) / 4 = 30 h = 1.25 days -> expected = 1 x 365 / 1.25 = 292
    expect(stats.expectedYearlyReturns).toBeCloseTo(292, 10);
    // running sums 3, 2, 7, 4: falls 3 -> 2 (1) and 7 -> 4 (3) -> maxDrawdown 3
    expect(stats.maxDrawdown).toBe(3);
    expect(stats.totalEvents).toBe(4);
  });

  it("only wins: certaintyRatio null, lossCount 0, maxDrawdown 0", () => {
    // pnl = +1, +2, +3; each held exactly 1 day.
    const stats = liveStatistics(closes([1, 2, 3], [DAY, DAY, DAY]));
    // N = 3, 3 wins -> winRate 100; total 6, mean 2
    expect(stats).toMatchObject({ totalClosed: 3, winCount: 3, lossCount: 0, winRate: 100, totalPnl: 6, avgPnl: 2 });
    // deviations -1, 0, 1 -> variance 2 / 3 -> stdDev sqrt(2/3) = 0.816497
    expect(stats.stdDev).toBeCloseTo(Math.sqrt(2 / 3), 12);
    // sharpe = 2 / sqrt(2/3) = sqrt(6) = 2.449490; annualized = sqrt(6 x 365) = sqrt(2190) = 46.797436
    expect(stats.sharpeRatio).toBeCloseTo(Math.sqrt(6), 10);
    expect(stats.annualizedSharpeRatio).toBeCloseTo(46.797436, 5);
    // no losing signal: the ratio cannot be computed
    expect(stats.certaintyRatio).toBeNull();
    // mean held 1 day -> 2 x 365 / 1 = 730
    expect(stats.expectedYearlyReturns).toBeCloseTo(730, 10);
    // running sums 1, 3, 6 never fall
    expect(stats.maxDrawdown).toBe(0);
  });

  it("zero variance: stdDev 0, sharpe and annualized sharpe null (never NaN or Infinity)", () => {
    // pnl = +1.5, +1.5, +1.5; each held 12 h.
    const stats = liveStatistics(closes([1.5, 1.5, 1.5], [12 * HOUR, 12 * HOUR, 12 * HOUR]));
    expect(stats).toMatchObject({ totalClosed: 3, winCount: 3, lossCount: 0, winRate: 100, avgPnl: 1.5, totalPnl: 4.5 });
    expect(stats.stdDev).toBe(0);
    expect(stats.sharpeRatio).toBeNull();
    expect(stats.annualizedSharpeRatio).toBeNull();
    expect(stats.certaintyRatio).toBeNull();
    // mean held 0.5 day -> 1.5 x 365 / 0.5 = 1095
    expect(stats.expectedYearlyReturns).toBeCloseTo(1095, 10);
    expect(stats.maxDrawdown).toBe(0);
  });

  it("only losses with zero variance: winRate 0, certainty null, the drawdown counts from the initial 0", () => {
    // pnl = -2, -2; held 2 days each: running sums -2, -4 from the peak 0 -> drawdown 4.
    const stats = liveStatistics(closes([-2, -2], [2 * DAY, 2 * DAY]));
    expect(stats).toMatchObject({ totalClosed: 2, winCount: 0, lossCount: 2, winRate: 0, avgPnl: -2, totalPnl: -4, stdDev: 0 });
    expect(stats.sharpeRatio).toBeNull();
    expect(stats.certaintyRatio).toBeNull();
    // -2 x 365 / 2 = -365
    expect(stats.expectedYearlyReturns).toBeCloseTo(-365, 10);
    expect(stats.maxDrawdown).toBe(4);
  });

  it("maxDrawdown: +2, -1, -3, +1, -2 -> running sums 2, 1, -2, -1, -3; peak 2 -> drawdown 5", () => {
    const stats = liveStatistics(closes([2, -1, -3, 1, -2], [HOUR, HOUR, HOUR, HOUR, HOUR]));
    expect(stats.maxDrawdown).toBe(5);
    // The other fields of the same run: total -3, mean -0.6; wins 2, 1; losses -1, -3, -2 -> winRate 40
    expect(stats).toMatchObject({ totalClosed: 5, winCount: 2, lossCount: 3, winRate: 40, totalPnl: -3 });
    expect(stats.avgPnl).toBeCloseTo(-0.6, 12);
    // deviations 2.6, -0.4, -2.4, 1.6, -1.4 -> squares 6.76 + 0.16 + 5.76 + 2.56 + 1.96 = 17.2 -> var 3.44
    expect(stats.stdDev).toBeCloseTo(Math.sqrt(3.44), 12);
    expect(stats.sharpeRatio).toBeCloseTo(-0.6 / Math.sqrt(3.44), 12);
    expect(stats.annualizedSharpeRatio).toBeCloseTo((-0.6 / Math.sqrt(3.44)) * Math.sqrt(365), 10);
    // mean win (2 + 1) / 2 = 1.5 over |mean loss (-1 - 3 - 2) / 3| = 2 -> 0.75
    expect(stats.certaintyRatio).toBeCloseTo(0.75, 12);
    // held 1 h = 1/24 day -> -0.6 x 365 x 24 = -5256
    expect(stats.expectedYearlyReturns).toBeCloseTo(-5256, 8);
  });

  it("maxDrawdown keeps the largest fall, not the last one: +1, -4, +10, -2 -> falls 4 and 2 -> 4", () => {
    // running sums 1, -3, 7, 5: from peak 1 down to -3 (4), from peak 7 down to 5 (2)
    expect(liveStatistics(closes([1, -4, 10, -2], [HOUR, HOUR, HOUR, HOUR])).maxDrawdown).toBe(4);
  });

  it("a pnl of exactly 0 counts as neither a win nor a loss (but as a closed signal)", () => {
    // pnl = 0, +2, -1: N = 3, 1 win, 1 loss; winRate 1/3 x 100; mean 1/3; certainty 2 / 1 = 2
    const stats = liveStatistics(closes([0, 2, -1], [DAY, DAY, DAY]));
    expect(stats).toMatchObject({ totalClosed: 3, winCount: 1, lossCount: 1, totalPnl: 1 });
    expect(stats.winRate).toBeCloseTo(100 / 3, 12);
    expect(stats.avgPnl).toBeCloseTo(1 / 3, 12);
    expect(stats.certaintyRatio).toBe(2);
    // running sums 0, 2, 1 -> drawdown 1
    expect(stats.maxDrawdown).toBe(1);
    // only zeros: no win, no loss, winRate 0, certainty null
    const zeros = liveStatistics(closes([0, 0], [DAY, DAY]));
    expect(zeros).toMatchObject({ totalClosed: 2, winCount: 0, lossCount: 0, winRate: 0, avgPnl: 0, totalPnl: 0, stdDev: 0, maxDrawdown: 0 });
    expect(zeros.sharpeRatio).toBeNull();
    expect(zeros.certaintyRatio).toBeNull();
  });

  it("expectedYearlyReturns is null when the mean holding time is 0 (not Infinity)", () => {
    const stats = liveStatistics(closes([1, 2], [0, 0]));
    expect(stats.avgPnl).toBe(1.5);
    expect(stats.expectedYearlyReturns).toBeNull();
  });

  it("one closed signal: stdDev 0 (population), sharpe null", () => {
    const stats = liveStatistics([closed("A", 2, 6 * HOUR)]);
    // 2 x 365 / 0.25 day = 2920
    expect(stats).toMatchObject({ totalClosed: 1, winCount: 1, winRate: 100, avgPnl: 2, totalPnl: 2, stdDev: 0, sharpeRatio: null, maxDrawdown: 0 });
    expect(stats.expectedYearlyReturns).toBeCloseTo(2920, 10);
  });

  it("the collector gives the same numbers as liveStatistics, read at any time", () => {
    const results = closes([3, -1, 5, -3], [12 * HOUR, 36 * HOUR, 24 * HOUR, 48 * HOUR]);
    const collector = new LiveStatisticsCollector();
    collector.record(results[0] as TickResult);
    collector.record(results[1] as TickResult);
    expect(collector.snapshot()).toMatchObject({ totalClosed: 2, totalPnl: 2, maxDrawdown: 1, certaintyRatio: 3 });
    collector.record(results[2] as TickResult);
    collector.record(results[3] as TickResult);
    expect(collector.snapshot()).toEqual(liveStatistics(results));
  });
});

describe("LiveStatistics eventList", () => {
  it("newest first; idle is not an event; the open signal's active row is replaced in place, not appended", () => {
    const idle: TickResult = { ...base, action: "idle", signal: null, currentPrice: 100, timestamp: T0 };
    const results: TickResult[] = [
      idle,
      opened("A", T0 + MINUTE),
      active("A", T0 + MINUTE, T0 + 2 * MINUTE),
      active("A", T0 + MINUTE, T0 + 3 * MINUTE),
      active("A", T0 + MINUTE, T0 + 4 * MINUTE),
      closed("A", 1, 4 * MINUTE, T0 + MINUTE), // closes at T0 + 5 min
      { ...idle, timestamp: T0 + 6 * MINUTE },
      opened("B", T0 + 7 * MINUTE),
      active("B", T0 + 7 * MINUTE, T0 + 8 * MINUTE),
    ];
    const stats = liveStatistics(results);
    expect(stats.eventList.map((r) => [r.action, r.signal?.id, (r.timestamp - T0) / MINUTE])).toEqual([
      ["active", "B", 8],
      ["opened", "B", 7],
      ["closed", "A", 5],
      ["active", "A", 4], // the latest of A's three active rows, where the first one stood
      ["opened", "A", 1],
    ]);
    expect(stats.totalEvents).toBe(5);
    expect(stats.totalEvents).toBe(stats.eventList.length);
  });

  it("lists the scheduled row once (when created) and the cancelled row", () => {
    const signal = { ...row("S", T0), priceOpen: 99 };
    const scheduled = (at: number): TickResult => ({ ...base, action: "scheduled", signal, currentPrice: 100, timestamp: at });
    const stats = liveStatistics([
      scheduled(T0),
      scheduled(T0 + MINUTE),
      scheduled(T0 + 2 * MINUTE),
      { ...base, action: "cancelled", signal, currentPrice: 97, timestamp: T0 + 3 * MINUTE, cancelReason: "stop_loss", closeTimestamp: T0 + 3 * MINUTE },
    ]);
    expect(stats.eventList.map((r) => [r.action, (r.timestamp - T0) / MINUTE])).toEqual([
      ["cancelled", 3],
      ["scheduled", 0],
    ]);
    expect(stats.totalClosed).toBe(0); // a cancelled signal is not a closed one
  });

  it("is bounded by maxEvents (the newest kept); the statistics still cover every closed signal", () => {
    // 10 signals, each opened then closed (+1 each): 20 events.
    const results: TickResult[] = [];
    for (let i = 0; i < 10; i++) {
      const at = T0 + i * 10 * MINUTE;
      results.push(opened(`S${i}`, at), closed(`S${i}`, 1, 5 * MINUTE, at));
    }
    const stats = liveStatistics(results, 3);
    expect(stats.eventList.map((r) => `${r.action} ${r.signal?.id}`)).toEqual(["closed S9", "opened S9", "closed S8"]);
    expect(stats.totalEvents).toBe(3);
    expect(stats.totalClosed).toBe(10);
    expect(stats.totalPnl).toBe(10);
  });

  it("stays bounded over a long run (default 250 rows) and keeps the newest", () => {
    expect(DEFAULT_MAX_EVENTS).toBe(250);
    const collector = new LiveStatisticsCollector();
    for (let i = 0; i < 2_000; i++) {
      const at = T0 + i * 10 * MINUTE;
      collector.record(opened(`S${i}`, at));
      collector.record(active(`S${i}`, at, at + MINUTE));
      collector.record(active(`S${i}`, at, at + 2 * MINUTE));
      collector.record(closed(`S${i}`, i % 2 === 0 ? 1 : -1, 3 * MINUTE, at));
      const size = collector.snapshot().totalEvents;
      expect(size).toBeLessThanOrEqual(250);
    }
    const stats = collector.snapshot();
    expect(stats.totalEvents).toBe(250);
    expect(stats.eventList[0]).toMatchObject({ action: "closed", signal: { id: "S1999" } });
    expect(stats.eventList[1]).toMatchObject({ action: "active", signal: { id: "S1999" }, timestamp: T0 + 1999 * 10 * MINUTE + 2 * MINUTE });
    expect(stats).toMatchObject({ totalClosed: 2_000, winCount: 1_000, lossCount: 1_000, totalPnl: 0, winRate: 50 });
  });
});
