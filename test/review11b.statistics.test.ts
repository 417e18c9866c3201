// Review 11b (hostile review of issue 11), statistics and history, each a regression test that
// failed before its fix:
// 4. a signal that ended unrecorded was listed once per later start (each start journals the
//    same recovery.endedSignal again): rx report --json gave it three times, the demo three notes;
// 5. equal PnLs whose floats differ in the last bit gave a standard deviation of ~1e-15 and a
//    Sharpe ratio in the trillions: such a deviation is zero, the Sharpe ratios null ("N/A");
// 6. the Markdown report said "Total events: 250" when 312 existed (the table is bounded by
//    maxEvents): now the true total, and that the table lists the newest 250 of 312.
import { describe, expect, it } from "vitest";
import {
  historyStatistics,
  liveReport,
  liveStatistics,
  memoryJournal,
  readLiveHistory,
  type JournalEntry,
  type SignalRow,
  type TickResult,
  type TickResultClosed,
  type TickResultOpened,
} from "rxtrade";
import { historyNotes } from "../src/cli/session";

const SYMBOL = "BTCUSDT";
const NAME = "r11b";
const KEY = `${SYMBOL}:${NAME}`;
const MINUTE = 60_000;
const T0 = Date.parse("2023-03-01T00:00:00Z");
const base = { symbol: SYMBOL, strategyName: NAME, exchangeName: "x", backtest: false as const };

function row(id: string, at: number): SignalRow {
  return { id, position: "long", priceOpen: 100, priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60, note: "", ...base, scheduledAt: at, pendingAt: at };
}
function opened(id: string, at: number): TickResultOpened {
  return { ...base, action: "opened", signal: row(id, at), currentPrice: 100, timestamp: at };
}
function closed(id: string, pnl: number, at: number, heldMs = 30 * MINUTE): TickResultClosed {
  return {
    ...base, action: "closed", signal: row(id, at - heldMs), currentPrice: 102, timestamp: at,
    closeReason: "take_profit", closeTimestamp: at, pnl: { pnlPercentage: pnl, priceOpen: 100, priceClose: 102 },
  };
}

describe("review 11b #4: an ended-unrecorded signal is listed once", () => {
  const run = (at: number, endedSignal?: { signalId: string; status: "opened"; since: number }): JournalEntry => ({
    kind: "run", key: KEY, at, event: "start", symbol: SYMBOL, strategyName: NAME, exchangeName: "x", level: "trades", tickMs: MINUTE,
    ...(endedSignal === undefined ? {} : { recovery: { unfinishedRun: true, endedSignal } }),
  }) as JournalEntry;
  const trade = (result: TickResult): JournalEntry => ({ kind: "trade", key: KEY, at: result.timestamp, result }) as JournalEntry;
  const ended = { signalId: "0a37c0de", status: "opened" as const, since: T0 + MINUTE };

  it("three later starts journaling the same endedSignal give one entry, one note, one report row", async () => {
    const journal = memoryJournal();
    for (const entry of [
      run(T0),
      trade(opened("0a37c0de", T0 + MINUTE)),
      run(T0 + 10 * MINUTE, ended),
      run(T0 + 20 * MINUTE, ended),
      run(T0 + 30 * MINUTE, ended),
      run(T0 + 40 * MINUTE, { signalId: "b2", status: "opened", since: T0 + 35 * MINUTE }),
    ]) await journal.append(entry);
    const history = await readLiveHistory(journal, KEY);
    expect(history.runs).toBe(5);
    expect(history.endedUnrecorded).toEqual([ended, { signalId: "b2", status: "opened", since: T0 + 35 * MINUTE }]);
    expect(historyNotes(history)).toHaveLength(2);
    expect(historyNotes(history)[0]).toContain("signal 0a37c0de (opened since");
    const report = liveReport(NAME, historyStatistics(history));
    const section = report.slice(report.indexOf("## Ended unrecorded"));
    expect(section.match(/\| 0a37c0de \|/g)).toHaveLength(1);
    expect(section.match(/\| b2 \|/g)).toHaveLength(1);
  });
});

describe("review 11b #5: a standard deviation of float noise is zero", () => {
  // 1.596 three ways: the same PnL to the eye, different in the last bits (as three take-profit closes give).
  const pnls = [1.596, 1.5960000000000003, 1.5959999999999999];

  it("three equal take-profit PnLs: stdDev 0, Sharpe and annualized Sharpe null, the report N/A", () => {
    const stats = liveStatistics(pnls.map((pnl, i) => closed(`s${i}`, pnl, T0 + (i + 1) * 60 * MINUTE)));
    expect(stats.totalClosed).toBe(3);
    expect(stats.avgPnl).toBeCloseTo(1.596, 12);
    expect(stats.stdDev).toBe(0);
    expect(stats.sharpeRatio).toBeNull();
    expect(stats.annualizedSharpeRatio).toBeNull();
    const report = liveReport(NAME, stats);
    expect(report).toContain("**Standard deviation:** 0.00%");
    expect(report).toContain("**Sharpe ratio:** N/A");
    expect(report).toContain("**Annualized Sharpe ratio:** N/A");
  });

  it("a real spread still gives its Sharpe ratio (1 and 3: mean 2, stdDev 1, Sharpe 2)", () => {
    const stats = liveStatistics([closed("a", 1, T0 + 60 * MINUTE), closed("b", 3, T0 + 120 * MINUTE)]);
    expect(stats.stdDev).toBe(1);
    expect(stats.sharpeRatio).toBe(2);
    expect(stats.annualizedSharpeRatio).toBeCloseTo(2 * Math.sqrt(365), 12);
  });

  it("a small but real spread of small PnLs is kept (0.001 and 0.003: stdDev 0.001)", () => {
    const stats = liveStatistics([closed("a", 0.001, T0 + 60 * MINUTE), closed("b", 0.003, T0 + 120 * MINUTE)]);
    expect(stats.stdDev).toBeCloseTo(0.001, 15);
    expect(stats.sharpeRatio).toBeCloseTo(2, 9);
  });
});

describe("review 11b #6: the report's total is the true one when the table is bounded", () => {
  // 156 opened + 156 closed = 312 events; maxEvents 250 (the default).
  const results: TickResult[] = [];
  for (let i = 0; i < 156; i++) {
    const at = T0 + i * 60 * MINUTE;
    results.push(opened(`s${i}`, at), closed(`s${i}`, i % 2 === 0 ? 1 : -0.5, at + 30 * MINUTE));
  }

  it("312 events, 250 in the table: 'Total events: 312', the newest 250 of 312, 62 older left out", () => {
    const stats = liveStatistics(results);
    expect(stats.eventList).toHaveLength(250);
    expect(stats.totalEvents).toBe(250);
    expect(stats.omittedEvents).toBe(62);
    const report = liveReport(NAME, stats);
    expect(report).toContain("**Total events:** 312 (the table lists the newest 250 of 312; 62 older left out: raise maxEvents to list more)");
    expect(report).not.toContain("**Total events:** 250");
    expect(report.split("\n").filter((line) => line.startsWith("| 2023-"))).toHaveLength(250);
  });

  it("under the bound nothing is said to be left out", () => {
    const stats = liveStatistics(results.slice(0, 10));
    expect(stats.omittedEvents).toBeUndefined();
    expect(liveReport(NAME, stats)).toContain("**Total events:** 10\n");
  });
});
