// Issue 11 review, `rxtrade backtest` on the command line, in this process (main()): a strategy
// that never answers (--call-timeout), repeated warnings as one line with a count, a folder with
// other files in it, impossible --from/--to dates, a file of another interval, and Ctrl-C's
// partial result. Ctrl-C on a real process is in test/backtest.review.sigint.test.ts.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_BTCUSDT_1M, csvCandles, runBacktest } from "rxtrade/node";
import { momentumStrategy } from "../examples/strategies/momentum";
import { CtrlC, WarningTally } from "../src/cli/backtestProgress";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

let work: string;
/** The first `rows` lines of the bundled CSV (header included), minutes from 2023-03-01 00:00. */
let bundledLines: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-backtest-review-cli-"));
  bundledLines = gunzipSync(readFileSync(BUNDLED_BTCUSDT_1M)).toString("utf8").split("\n");
  // A strategy whose answers never settle.
  await writeFile(join(work, "hung.mjs"), 'export const strategy = { strategyName: "hung", interval: "1m", getSignal: () => new Promise(() => {}) };\n');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs `rxtrade <args>` in this process; resolves the exit code and what went to stdout and stderr. */
async function rxtrade(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
  return { code, out, err };
}

const reports = () => mkdtemp(join(work, "reports-"));

describe("rxtrade backtest --call-timeout: a strategy that never answers", () => {
  it("fails each tick after the timeout, says it once with a count, and stops after 3 in a row (exit 1), in well under a second", async () => {
    const started = performance.now();
    const { code, out, err } = await rxtrade(["backtest", "--strategy", join(work, "hung.mjs"), "--call-timeout", "100", "--report-dir", await reports()]);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(code).toBe(1);
    expect(out).toContain("rxtrade backtest · BTCUSDT · strategy hung");
    const lines = err.split("\n");
    // The first failure in full, with its tick; the two others as a count, not a line each.
    expect(lines.filter((line) => line.startsWith("error$ StrategyError"))).toEqual([
      "error$ StrategyError: rxtrade: getSignal of hung failed for BTCUSDT: rxtrade: getSignal(BTCUSDT) of hung for the tick of 2023-03-01T02:00:00.000Z did not answer within 100 ms of real time " +
        "(the backtest's callTimeoutMs, rxtrade backtest --call-timeout): a backtest has no market to wait for; make getSignal settle, or give it more time",
    ]);
    expect(err).toMatch(/^2 more like this \(3 in all\): error\$ StrategyError: rxtrade: getSignal of hung failed for BTCUSDT/m);
    expect(err).toContain(
      "rxtrade backtest: the run failed: the backtest stopped: getSignal of hung on BTCUSDT did not answer on 3 ticks in a row (2023-03-01T02:00:00.000Z, 2023-03-01T02:01:00.001Z, 2023-03-01T02:02:00.002Z), given 100 ms of real time each",
    );
  });

  it("refuses a --call-timeout that is not a number of ms", async () => {
    const { code, err } = await rxtrade(["backtest", "--strategy", "momentum", "--call-timeout", "5s"]);
    expect(code).toBe(2);
    expect(err).toContain('rxtrade backtest: --call-timeout must be a whole number from 10 to 3600000 (real ms a strategy\'s answer may take), got "5s"; e.g. --call-timeout 5000');
  });
});

describe("rxtrade backtest: warnings of one kind are one line with a count", () => {
  it("a gap in the data: said once before the run, and its failing ticks one error$ line and a count", async () => {
    // 10 hours of the bundled minutes with 100 of them (03:20 to 04:59) cut out.
    const path = join(work, "GAPUSDT.csv");
    await writeFile(path, [...bundledLines.slice(0, 201), ...bundledLines.slice(301, 601)].join("\n") + "\n");
    const { code, out, err } = await rxtrade(["backtest", "--strategy", "momentum", "--data", path, "--report-dir", await reports()]);
    expect(code).toBe(0);
    expect(err.split("\n")[0]).toBe(
      `rxtrade backtest: ${path}: 1 gap in the minutes, 100 one-minute candles missing in all; the largest, 100 minutes, after line 201 (2023-03-01T03:20Z to 2023-03-01T04:59Z). ` +
        "A tick in a gap prices with what is left of its window, or fails on error$ when nothing is; fill the gaps, or keep --from/--to out of them",
    );
    const pricing = err.split("\n").filter((line) => line.startsWith("error$ ExchangeError"));
    expect(pricing).toHaveLength(1);
    expect(pricing[0]).toContain("no closed 1m candle for GAPUSDT since 2023-03-01T03:20:00.000Z");
    const count = /^(\d+) more like this \((\d+) in all\): error\$ ExchangeError/m.exec(err);
    expect(Number(count?.[1])).toBeGreaterThan(50);
    expect(Number(count?.[2])).toBe(Number(count?.[1]) + 1);
    expect(out).toContain("Statistics of the backtest");
  });
});

describe("WarningTally", () => {
  it("says the first of a kind in full (numbers and times aside) and, at the end, how many more came; a folder's symbols are kinds of their own", () => {
    const said: string[] = [];
    const tally = new WarningTally((text) => said.push(text));
    tally.add("S0USDT: error$ ExchangeError: no candle since 2023-03-01T03:20:00.000Z");
    tally.add("S1USDT: error$ ExchangeError: no candle since 2023-03-01T03:20:00.000Z");
    tally.add("S0USDT: error$ ExchangeError: no candle since 2023-03-01T03:21:00.060Z");
    tally.add("S0USDT: error$ ExchangeError: no candle since 2023-03-01T03:22:00.120Z");
    tally.add("S0USDT: error$ StrategyError: boom");
    expect(said).toEqual([
      "S0USDT: error$ ExchangeError: no candle since 2023-03-01T03:20:00.000Z",
      "S1USDT: error$ ExchangeError: no candle since 2023-03-01T03:20:00.000Z",
      "S0USDT: error$ StrategyError: boom",
    ]);
    tally.flush();
    expect(said.slice(3)).toEqual(["2 more like this (3 in all): S0USDT: error$ ExchangeError: no candle since 2023-03-01T03:20:00.000Z"]);
  });
});

describe("rxtrade backtest --data <folder> with other files in it", () => {
  it("skips dotfiles, macOS ._ files, folders and files that are not CSVs, says so once, and runs the CSVs", async () => {
    const data = join(work, "mixed");
    await mkdir(join(data, "old"), { recursive: true });
    await writeFile(join(data, "BTCUSDT.csv"), bundledLines.slice(0, 400).join("\n") + "\n");
    for (const name of [".DS_Store", "._BTCUSDT.csv", ".gitkeep", "README.md"]) await writeFile(join(data, name), "\0\u0005not candles\n");
    const { code, out, err } = await rxtrade(["backtest", "--strategy", "momentum", "--data", data, "--threads", "1", "--report-dir", await reports()]);
    expect(code, err).toBe(0);
    expect(err).toBe(`rxtrade backtest: skipping 5 entries of ${data} that are not a .csv or .csv.gz file: .DS_Store, ._BTCUSDT.csv, .gitkeep, README.md, old/\n`);
    expect(out).toMatch(/^BTCUSDT +\d+ .* +BTCUSDT\.csv$/m);
    expect(out).toContain("Combined: 1 symbol,");
  });

  it("fails only when no CSV is left, naming what it found (exit 2)", async () => {
    const data = join(work, "junk");
    await mkdir(data);
    for (const name of [".DS_Store", "notes.txt"]) await writeFile(join(data, name), "x\n");
    const { code, err } = await rxtrade(["backtest", "--strategy", "momentum", "--data", data]);
    expect(code).toBe(2);
    expect(err).toContain(`rxtrade backtest: --data ${data} holds no .csv or .csv.gz file (only .DS_Store, notes.txt); put one file of one-minute candles per symbol in it (e.g. BTCUSDT.csv)`);
  });
});

describe("rxtrade backtest: impossible --from and --to dates are refused with the value and the format", () => {
  it.each([
    [["--from", "2023-02-30"], '--from "2023-02-30" is not a time: February 2023 has 28 days, not 30; give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. --from 2023-03-08T12:00Z'],
    [["--to", "2023-04-31T10:00Z"], '--to "2023-04-31T10:00Z" is not a time: April 2023 has 30 days, not 31; give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. --to 2023-03-11T12:00Z'],
    [["--from", "2023-03-08T24:00Z"], '--from "2023-03-08T24:00Z" is not a time: there is no hour 24 (00 to 23); give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. --from 2023-03-08T12:00Z'],
    [["--from", "March 8, 2023"], '--from "March 8, 2023" is not a time; give ISO 8601 in UTC, e.g. --from 2023-03-08T12:00Z'],
  ])("%j", async (flags, message) => {
    const { code, out, err } = await rxtrade(["backtest", "--strategy", "momentum", ...flags]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(`rxtrade backtest: ${message}`);
  });

  it("still takes a leap day, a date alone, a space for the T, an offset and epoch ms", async () => {
    const { parseTimeFlag } = await import("../src/cli/backtestFlags");
    expect(parseTimeFlag("from", "2024-02-29T00:00Z")).toBe(Date.parse("2024-02-29T00:00:00Z"));
    expect(parseTimeFlag("from", "2023-03-08")).toBe(Date.parse("2023-03-08T00:00:00Z"));
    expect(parseTimeFlag("from", "2023-03-08 12:00")).toBe(Date.parse("2023-03-08T12:00:00Z"));
    expect(parseTimeFlag("to", "2023-03-08T14:00+02:00")).toBe(Date.parse("2023-03-08T12:00:00Z"));
    expect(parseTimeFlag("to", "1678276800000")).toBe(1_678_276_800_000);
  });
});

describe("rxtrade backtest refuses a file of another interval", () => {
  it("5-minute candles in a file: exit 2, naming the file, the line and the fix", async () => {
    const path = join(work, "ETHUSDT_5m.csv");
    const rows = Array.from({ length: 100 }, (_, i) => `${Date.parse("2023-03-01T00:00Z") + i * 300_000},100,101,99,100,1`);
    await writeFile(path, `timestamp,open,high,low,close,volume\n${rows.join("\n")}\n`);
    const { code, err } = await rxtrade(["backtest", "--strategy", "momentum", "--data", path]);
    expect(code).toBe(2);
    expect(err).toContain(`rxtrade backtest: --data ${path}:3: the candles are 5 minutes apart (99 of 99 steps; the first ends at this line): these look like 5-minute candles, not one-minute ones.`);
  });
});

describe("Ctrl-C", () => {
  it("runBacktest with an aborted signal ends at its current tick: end interrupted, the trades and statistics so far", async () => {
    const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
    const window = { from: Date.parse("2023-03-08T12:00Z"), to: Date.parse("2023-03-11T12:00Z") };
    const whole = await runBacktest("BTCUSDT", momentumStrategy(), { candles, ...window });
    const controller = new AbortController();
    const stopAt = Date.parse("2023-03-10T00:00Z");
    const result = await runBacktest("BTCUSDT", momentumStrategy(), { candles, ...window, signal: controller.signal, onTick: (tick) => tick.timestamp >= stopAt && controller.abort() });
    expect(result.end).toBe("interrupted");
    // It stops within the step under way: a tick or so after the abort.
    const lastTick = result.lastTick as number;
    expect(lastTick).toBeGreaterThanOrEqual(stopAt);
    expect(lastTick).toBeLessThan(stopAt + 3 * 60_001);
    // What it did up to there is what the whole run did up to there.
    const ids = (trades: typeof result.trades) => trades.map((t) => [t.timestamp, t.action, t.signal.priceOpen]);
    expect(ids(result.trades)).toEqual(ids(whole.trades.filter((t) => t.timestamp <= lastTick)));
    expect(result.stats.totalClosed).toBe(result.trades.filter((t) => t.action === "closed").length);
    expect(result.stats.totalClosed).toBeGreaterThan(0);
    expect(result.stats.totalClosed).toBeLessThan(whole.stats.totalClosed);
  });

  it("the first Ctrl-C aborts the run's signal and says so; a second one exits at once with 130", () => {
    const said: string[] = [];
    const exits: number[] = [];
    const ctrlC = new CtrlC(
      () => said.push("stopping"),
      (code) => exits.push(code),
    );
    try {
      expect(ctrlC.signal.aborted).toBe(false);
      process.emit("SIGINT", "SIGINT");
      expect({ aborted: ctrlC.signal.aborted, said, exits }).toEqual({ aborted: true, said: ["stopping"], exits: [] });
      process.emit("SIGINT", "SIGINT");
      expect(exits).toEqual([130]);
    } finally {
      ctrlC.dispose();
    }
    expect(process.listenerCount("SIGINT")).toBe(0);
  });

  it("an interrupted run's report says it is partial", async () => {
    const { markPartial } = await import("../src/cli/backtestOutput");
    const report = markPartial("# Live Trading Report: momentum\n\nTotal events: 3\n", { end: "interrupted", from: Date.parse("2023-03-08T12:00Z"), lastTick: Date.parse("2023-03-09T12:00:59Z") });
    expect(report).toBe(
      "# Live Trading Report: momentum\n\n> **Partial:** the backtest was interrupted (Ctrl-C) at 2023-03-09 12:00 UTC; these are the trades from 2023-03-08 12:00 UTC up to then.\n\nTotal events: 3\n",
    );
  });
});
