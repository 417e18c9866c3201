// The Markdown report (API.md "Report"): title, header row, row formatting, newest first,
// column selection, the empty report, summary lines, the bound on history; and the tick
// latency statistics behind Performance.getData / getReport.
import { describe, expect, it } from "vitest";
import {
  addStrategy,
  defaultReportColumns,
  Live,
  liveReport,
  liveStatistics,
  noteReportColumn,
  Performance,
  PerformanceCollector,
  performanceReport,
  type PerformanceEvent,
  type ReportColumn,
  type SignalRow,
  type TickResult,
} from "rxtrade";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse("2023-03-01T00:00:00Z");
const base = { symbol: "BTCUSDT", strategyName: "report", exchangeName: "replay", backtest: false as const };

const HEADER =
  "| Timestamp | Action | Symbol | Signal ID | Position | Current Price | Open Price | Take Profit | Stop Loss | % to TP | % to SL | PNL (net) | Close Reason | Duration (min) |";

function signal(id: string, fields: Partial<SignalRow> = {}): SignalRow {
  return {
    id,
    position: "long",
    priceOpen: 100,
    priceTakeProfit: 102,
    priceStopLoss: 98,
    minuteEstimatedTime: 60,
    note: "",
    ...base,
    scheduledAt: T0,
    pendingAt: T0,
    ...fields,
  };
}

// L1: long, opened at 00:00 (100), active at 00:02 (101), closed by take profit at 00:03 (102).
const L1 = signal("L1");
// S2: short limit entry at 101.5, scheduled at 00:04, cancelled by timeout at 02:04.
const S2 = signal("S2", { position: "short", priceOpen: 101.5, priceTakeProfit: 99, priceStopLoss: 103, scheduledAt: T0 + 4 * MINUTE, pendingAt: T0 + 4 * MINUTE, note: "breakout | retest" });
// L3: short, opened at 02:10 (100), stopped out at 02:25 (102.123456789).
const L3 = signal("L3", { position: "short", priceTakeProfit: 98, priceStopLoss: 102.123456789, scheduledAt: T0 + 130 * MINUTE, pendingAt: T0 + 130 * MINUTE, note: "line one\nline two" });

const RESULTS: TickResult[] = [
  { ...base, action: "opened", signal: L1, currentPrice: 100, timestamp: T0 },
  { ...base, action: "active", signal: L1, currentPrice: 101, timestamp: T0 + 2 * MINUTE, percentTp: 50, percentSl: 0 },
  {
    ...base,
    action: "closed",
    signal: L1,
    currentPrice: 102,
    timestamp: T0 + 3 * MINUTE,
    closeReason: "take_profit",
    closeTimestamp: T0 + 3 * MINUTE,
    pnl: { pnlPercentage: 1.5962037962, priceOpen: 100.1, priceClose: 101.898 },
  },
  { ...base, action: "scheduled", signal: S2, currentPrice: 100.25, timestamp: T0 + 4 * MINUTE },
  { ...base, action: "cancelled", signal: S2, currentPrice: 100.5, timestamp: T0 + 124 * MINUTE, cancelReason: "timeout", closeTimestamp: T0 + 124 * MINUTE },
  { ...base, action: "opened", signal: L3, currentPrice: 100, timestamp: T0 + 130 * MINUTE },
  {
    ...base,
    action: "closed",
    signal: L3,
    currentPrice: 102.123456789,
    timestamp: T0 + 145 * MINUTE,
    closeReason: "stop_loss",
    closeTimestamp: T0 + 145 * MINUTE,
    pnl: { pnlPercentage: -2.3456, priceOpen: 99.9, priceClose: 102.2256 },
  },
];

// The rows of RESULTS with the default columns, newest first.
const ROWS = [
  "| 2023-03-01T02:25:00.000Z | CLOSED | BTCUSDT | L3 | SHORT | 102.12345679 USDT | 100.00000000 USDT | 98.00000000 USDT | 102.12345679 USDT | N/A | N/A | -2.35% | stop_loss | 15 |",
  "| 2023-03-01T02:10:00.000Z | OPENED | BTCUSDT | L3 | SHORT | 100.00000000 USDT | 100.00000000 USDT | 98.00000000 USDT | 102.12345679 USDT | N/A | N/A | N/A | N/A | N/A |",
  "| 2023-03-01T02:04:00.000Z | CANCELLED | BTCUSDT | S2 | SHORT | 100.50000000 USDT | 101.50000000 USDT | 99.00000000 USDT | 103.00000000 USDT | N/A | N/A | N/A | timeout | 120 |",
  "| 2023-03-01T00:04:00.000Z | SCHEDULED | BTCUSDT | S2 | SHORT | 100.25000000 USDT | 101.50000000 USDT | 99.00000000 USDT | 103.00000000 USDT | N/A | N/A | N/A | N/A | N/A |",
  "| 2023-03-01T00:03:00.000Z | CLOSED | BTCUSDT | L1 | LONG | 102.00000000 USDT | 100.00000000 USDT | 102.00000000 USDT | 98.00000000 USDT | N/A | N/A | +1.60% | take_profit | 3 |",
  "| 2023-03-01T00:02:00.000Z | ACTIVE | BTCUSDT | L1 | LONG | 101.00000000 USDT | 100.00000000 USDT | 102.00000000 USDT | 98.00000000 USDT | 50.00% | 0.00% | N/A | N/A | 2 |",
  "| 2023-03-01T00:00:00.000Z | OPENED | BTCUSDT | L1 | LONG | 100.00000000 USDT | 100.00000000 USDT | 102.00000000 USDT | 98.00000000 USDT | N/A | N/A | N/A | N/A | N/A |",
];

/** The table of a report: header, separator, rows (lines starting with `|`). */
function table(report: string): string[] {
  return report.split("\n").filter((line) => line.startsWith("|"));
}

/** The summary line that names `label` (after the table). */
function summaryLine(report: string, label: string): string {
  const lines = report.split("\n").filter((line) => !line.startsWith("|") && line.toLowerCase().includes(label.toLowerCase()));
  expect(lines, `one summary line for ${label}`).toHaveLength(1);
  return lines[0] as string;
}

/** Closed results with the given PnLs, each held `heldMs`. */
function closes(pnls: number[], heldMs: number[]): TickResult[] {
  let at = T0;
  return pnls.map((pnl, i) => {
    const row = signal(`C${i + 1}`, { scheduledAt: at, pendingAt: at });
    const closeTimestamp = at + (heldMs[i] as number);
    at = closeTimestamp + MINUTE;
    return { ...base, action: "closed", signal: row, currentPrice: 101, timestamp: closeTimestamp, closeReason: "take_profit", closeTimestamp, pnl: { pnlPercentage: pnl, priceOpen: 100, priceClose: 101 } };
  });
}

describe("liveReport", () => {
  it("title, blank line, exact header row, a separator, then the rows newest first, formatted", () => {
    const report = liveReport("momentum", liveStatistics(RESULTS));
    expect(report.startsWith(`# Live Trading Report: momentum\n\n${HEADER}\n`)).toBe(true);
    const [header, separator, ...rows] = table(report);
    expect(header).toBe(HEADER);
    expect(separator).toMatch(/^\|( *:?-{3,}:? *\|){14}$/);
    expect(rows).toEqual(ROWS);
  });

  it("the default columns are exported in order, with the optional Note column beside them", () => {
    expect(defaultReportColumns.map((c) => c.label)).toEqual(HEADER.slice(2, -2).split(" | "));
    expect(defaultReportColumns.map((c) => c.key)).not.toContain(noteReportColumn.key);
    expect(noteReportColumn.label).toBe("Note");
  });

  it("row formatting: prices toFixed(8) + the quote currency (USDT for BTCUSDT), % to TP/SL toFixed(2) + %, PNL with its sign, upper case action and position, ISO time, integer minutes", () => {
    const [, , ...rows] = table(liveReport("momentum", liveStatistics(RESULTS)));
    const cells = rows.map((row) => row.slice(2, -2).split(" | "));
    for (const row of cells) {
      expect(row).toHaveLength(14);
      expect(new Date(row[0] as string).toISOString()).toBe(row[0]);
      expect(row[1]).toMatch(/^[A-Z]+$/);
      expect(row[4]).toMatch(/^(LONG|SHORT)$/);
      for (const price of row.slice(5, 9)) expect(price).toMatch(/^\d+\.\d{8} USDT$/);
      for (const percent of row.slice(9, 11)) expect(percent).toMatch(/^(N\/A|\d+\.\d{2}%)$/);
      expect(row[11]).toMatch(/^(N\/A|[+-]\d+\.\d{2}%)$/);
      expect(row[13]).toMatch(/^(N\/A|\d+)$/);
    }
    // Duration of a position held 90 s is still a whole number of minutes.
    const [held] = closes([1], [90_000]);
    const duration = defaultReportColumns.find((c) => c.key === "duration") as ReportColumn;
    expect(duration.format(held as TickResult)).toMatch(/^\d+$/);
    expect(["1", "2"]).toContain(duration.format(held as TickResult));
  });

  it("prices are in the symbol's quote currency, never a USD the symbol does not name; no unit when the symbol does not tell", () => {
    const price = defaultReportColumns.find((c) => c.key === "currentPrice") as ReportColumn;
    const row = (symbol: string): TickResult => ({ ...base, symbol, action: "idle", signal: null, currentPrice: 23423.17, timestamp: T0 });
    expect(price.format(row("BTCUSDT"))).toBe("23423.17000000 USDT");
    expect(price.format(row("BTC/USDT"))).toBe("23423.17000000 USDT");
    expect(price.format(row("BTC/USDT:USDT"))).toBe("23423.17000000 USDT");
    expect(price.format(row("BTC/USD:BTC"))).toBe("23423.17000000 USD");
    expect(price.format(row("XBTUSD"))).toBe("23423.17000000 USD");
    expect(price.format(row("ETHBTC"))).toBe("23423.17000000 BTC");
    expect(price.format(row("BNBUSD"))).toBe("23423.17000000 USD");
    expect(price.format(row("btc-usdt"))).toBe("23423.17000000");
    expect(price.format(row("USDT"))).toBe("23423.17000000");
  });

  it("column selection: a subset, a new order, a custom column", () => {
    const stats = liveStatistics(RESULTS.slice(0, 3));
    const byKey = (key: string) => defaultReportColumns.find((c) => c.key === key) as ReportColumn;

    const subset = defaultReportColumns.filter((c) => ["timestamp", "action", "pnl"].includes(c.key));
    expect(table(liveReport("momentum", stats, subset))).toEqual([
      "| Timestamp | Action | PNL (net) |",
      expect.stringMatching(/^\|( *:?-{3,}:? *\|){3}$/),
      "| 2023-03-01T00:03:00.000Z | CLOSED | +1.60% |",
      "| 2023-03-01T00:02:00.000Z | ACTIVE | N/A |",
      "| 2023-03-01T00:00:00.000Z | OPENED | N/A |",
    ]);

    const reordered = [byKey("pnl"), byKey("signalId"), byKey("action")];
    expect(table(liveReport("momentum", stats, reordered))[2]).toBe("| +1.60% | L1 | CLOSED |");

    const held: ReportColumn = {
      key: "heldHours",
      label: "Held (h)",
      format: (row) => (row.action === "closed" ? ((row.closeTimestamp - row.signal.pendingAt) / HOUR).toFixed(2) : "-"),
    };
    const custom = liveReport("momentum", stats, [byKey("action"), held]);
    expect(table(custom)).toEqual(["| Action | Held (h) |", expect.any(String), "| CLOSED | 0.05 |", "| ACTIVE | - |", "| OPENED | - |"]);
  });

  it("the optional Note column; a | in a cell is escaped and a line break flattened, so the table holds", () => {
    const report = liveReport("momentum", liveStatistics(RESULTS), [...defaultReportColumns, noteReportColumn]);
    const [header, , ...rows] = table(report);
    expect(header).toBe(`${HEADER.slice(0, -2)} | Note |`);
    expect(rows[0]?.endsWith(" | line one line two |")).toBe(true); // L3
    expect(rows[2]?.endsWith(" | breakout \\| retest |")).toBe(true); // S2
    expect(rows[4]?.endsWith(" | N/A |")).toBe(true); // L1 has no note
    // Every row still has 15 cells: split on unescaped pipes.
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length - 2).toBe(15);
    // A custom label with a pipe is escaped too.
    expect(table(liveReport("momentum", liveStatistics(RESULTS), [{ key: "x", label: "a|b", format: () => "c|d" }]))[0]).toBe("| a\\|b |");
  });

  it("the empty report, exactly", () => {
    expect(liveReport("momentum", liveStatistics([]))).toBe("# Live Trading Report: momentum\n\nNo events recorded yet.\n");
    // idle ticks are not events
    const idle: TickResult = { ...base, action: "idle", signal: null, currentPrice: 100, timestamp: T0 };
    expect(liveReport("momentum", liveStatistics([idle, idle]))).toBe("# Live Trading Report: momentum\n\nNo events recorded yet.\n");
  });

  it("Live.getReport of a pair that never ran is the empty report", async () => {
    addStrategy({ strategyName: "report-never-ran", interval: "5m", getSignal: () => null });
    expect(await Live.getReport("BTCUSDT", "report-never-ran")).toBe("# Live Trading Report: report-never-ran\n\nNo events recorded yet.\n");
    expect(await Live.getReport("BTCUSDT", "report-never-ran", [noteReportColumn])).toBe(
      "# Live Trading Report: report-never-ran\n\nNo events recorded yet.\n",
    );
  });

  it("summary lines after the table: totals, win rate with W/L, average and total PNL, std dev, Sharpe, annualized Sharpe, certainty, expected yearly returns, max drawdown", () => {
    // pnl +3, -1, +5, -3 held 12 h, 36 h, 24 h, 48 h (worked in live.statistics.test.ts):
    // avg 1, total 4, stdDev sqrt(10) = 3.16, sharpe 0.316, annualized sqrt(36.5) = 6.042,
    // certainty 2, expected 292, max drawdown 3.
    const report = liveReport("momentum", liveStatistics(closes([3, -1, 5, -3], [12 * HOUR, 36 * HOUR, 24 * HOUR, 48 * HOUR])));
    const tableEnd = report.lastIndexOf("\n|");
    const summaryStart = report.indexOf("Total events");
    expect(summaryStart).toBeGreaterThan(tableEnd);
    expect(summaryLine(report, "Total events")).toMatch(/\b4\b/);
    expect(summaryLine(report, "Closed signals")).toMatch(/\b4\b/);
    expect(summaryLine(report, "Win rate")).toMatch(/50(\.0+)?%.*2W \/ 2L/);
    expect(summaryLine(report, "Average PNL")).toMatch(/\+1\.00%/);
    expect(summaryLine(report, "Total PNL")).toMatch(/\+4\.00%/);
    expect(summaryLine(report, "Standard deviation")).toMatch(/3\.16/);
    expect(summaryLine(report, "Annualized Sharpe")).toMatch(/6\.04/);
    const sharpe = report.split("\n").filter((line) => /sharpe/i.test(line) && !/annualized/i.test(line));
    expect(sharpe).toHaveLength(1);
    expect(sharpe[0]).toMatch(/0\.316/);
    expect(summaryLine(report, "Certainty ratio")).toMatch(/\b2\.0+\b/);
    expect(summaryLine(report, "Expected yearly returns")).toMatch(/\+?292\.00%/);
    expect(summaryLine(report, "Max drawdown")).toMatch(/3\.00%/);
    expect(report).not.toMatch(/NaN|Infinity|undefined|null/);
    expect(report.endsWith("\n")).toBe(true);
  });

  it("summary lines show N/A for null values", () => {
    // Nothing closed yet: every ratio is null.
    const open = liveReport("momentum", liveStatistics(RESULTS.slice(0, 2)));
    for (const label of ["Win rate", "Average PNL", "Standard deviation", "Annualized Sharpe", "Certainty ratio", "Expected yearly returns", "Max drawdown"]) {
      expect(summaryLine(open, label)).toContain("N/A");
    }
    expect(summaryLine(open, "Closed signals")).toMatch(/\b0\b/);
    expect(summaryLine(open, "Total events")).toMatch(/\b2\b/);

    // Only wins: certainty is null. Zero variance: sharpe and annualized sharpe are null.
    const wins = liveReport("momentum", liveStatistics(closes([1, 1], [HOUR, HOUR])));
    expect(summaryLine(wins, "Certainty ratio")).toContain("N/A");
    expect(summaryLine(wins, "Annualized Sharpe")).toContain("N/A");
    expect(wins.split("\n").filter((line) => /sharpe/i.test(line) && !/annualized/i.test(line))[0]).toContain("N/A");
    expect(summaryLine(wins, "Win rate")).toMatch(/100(\.0+)?%.*2W \/ 0L/);
    expect(summaryLine(wins, "Max drawdown")).toMatch(/0\.00%/);
    expect(wins).not.toMatch(/NaN|Infinity/);
  });

  it("the bound on history: maxEvents 3 keeps the 3 newest rows", () => {
    const report = liveReport("momentum", liveStatistics(RESULTS, 3));
    expect(table(report).slice(2)).toEqual(ROWS.slice(0, 3));
    expect(summaryLine(report, "Total events")).toMatch(/\b3\b/);
    // The statistics still cover both closed signals.
    expect(summaryLine(report, "Closed signals")).toMatch(/\b2\b/);
    expect(summaryLine(report, "Win rate")).toMatch(/1W \/ 1L/);
  });
});

describe("Performance statistics and report", () => {
  // Durations 0..100 ms (shuffled), ticks 1000 and 3000 ms apart in turn.
  function events(): PerformanceEvent[] {
    const durations = Array.from({ length: 101 }, (_, i) => (i * 37) % 101); // a permutation of 0..100
    let timestamp = T0;
    return durations.map((duration, i) => {
      const previousTimestamp = i === 0 ? null : timestamp;
      if (i > 0) timestamp += i % 2 === 1 ? 1000 : 3000;
      return { timestamp, previousTimestamp, metricType: "live_tick", duration, strategyName: "perf", exchangeName: "replay", symbol: "BTCUSDT", backtest: false };
    });
  }

  it("count, total, average, min, max, population std dev, p50/p95/p99 and the wait between ticks", () => {
    const collector = new PerformanceCollector();
    for (const event of events()) collector.record(event);
    const stats = collector.snapshot();
    // 0..100: total 5050, mean 50; sum of squared deviations 2 x (1² + … + 50²) = 85850 -> var 850
    expect(stats).toMatchObject({ metricType: "live_tick", count: 101, totalDuration: 5050, avgDuration: 50, minDuration: 0, maxDuration: 100 });
    expect(stats.stdDev).toBeCloseTo(Math.sqrt(850), 9);
    // Sorted 0..100: the p-th percentile is p (nearest rank and interpolation agree here).
    expect([stats.p50, stats.p95, stats.p99]).toEqual([50, 95, 99]);
    // 100 waits: 50 of 1000 ms and 50 of 3000 ms.
    expect(stats).toMatchObject({ avgWait: 2000, minWait: 1000, maxWait: 3000 });
  });

  it("no ticks: count 0 and nulls; the report says so", () => {
    const stats = new PerformanceCollector().snapshot();
    expect(stats).toMatchObject({ count: 0, totalDuration: 0, avgDuration: null, minDuration: null, maxDuration: null, stdDev: null, p50: null, p95: null, p99: null, avgWait: null });
    const report = performanceReport("BTCUSDT", "perf", stats);
    expect(report.startsWith("# Performance Report: perf on BTCUSDT\n\n")).toBe(true);
    expect(report).not.toContain("| p50 |");
  });

  it("performanceReport renders every statistic as a Markdown table", () => {
    const collector = new PerformanceCollector();
    for (const event of events()) collector.record(event);
    const report = performanceReport("BTCUSDT", "perf", collector.snapshot());
    expect(report.startsWith("# Performance Report: perf on BTCUSDT\n\n| Metric | Value |\n")).toBe(true);
    expect(report).toMatch(/\| Ticks \| 101 \|/);
    expect(report).toMatch(/\| p50 \| 50(\.0+)? ms \|/);
    expect(report).toMatch(/\| p95 \| 95(\.0+)? ms \|/);
    expect(report).toMatch(/\| p99 \| 99(\.0+)? ms \|/);
    expect(report).toMatch(/\| Average wait between ticks \| 2000(\.0+)? ms \|/);
  });

  it("Performance.getData / getReport of a pair that never ran: no ticks", async () => {
    addStrategy({ strategyName: "perf-never-ran", interval: "1m", getSignal: () => null });
    expect(await Performance.getData("BTCUSDT", "perf-never-ran")).toMatchObject({ count: 0, p50: null });
    expect(await Performance.getReport("BTCUSDT", "perf-never-ran")).toContain("# Performance Report: perf-never-ran on BTCUSDT");
  });
});
