// Issue 11, item 4 (a new feature): `rxtrade backtest` as a real process (the command line
// bundled from src/cli by test/fixtures/processHarness.ts, the worker threads included). The
// same strategy over the same window gives the same trades as `rxtrade demo`; a folder of CSVs
// on worker threads gives what each file gives alone; --to is a graceful stop and the data's
// end is said; a worker that crashes is reported with its file while the others finish; candles
// fetched through ccxt (a canned binance, no network) give what the same candles in a CSV give.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Candle } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { bundle, type Exit, run } from "./fixtures/processHarness";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const MINUTE = 60_000;
const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

let cli: string[];
let work: string;
let bundled: Candle[];

beforeAll(async () => {
  [cli, work, bundled] = await Promise.all([bundle("src/cli/index.ts"), mkdtemp(join(tmpdir(), "rxtrade-cli-backtest-")), csvCandles(BUNDLED_BTCUSDT_1M)]);
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  if (cli !== undefined) await rm(dirname(cli[1] as string), { recursive: true, force: true });
});

const newDir = (name: string) => mkdtemp(join(work, `${name}-`));

async function rxtrade(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  return run(cli, args, { cwd, env, timeoutMs: 30_000 });
}

/** `rxtrade <args>` through `main` in this process (paths absolute): a backtest on the main thread, no worker. */
async function inProcess(args: readonly string[]): Promise<Exit> {
  let stdout = "";
  let stderr = "";
  const code = await main([...args], new Terminal({ write: (text: string) => (stdout += text) }, { write: (text: string) => (stderr += text) }));
  return { code, signal: null, stdout, stderr };
}

/** Signal ids replaced by their order of appearance (they are random). */
function numberedIds(text: string): string {
  const ids = [...new Set(text.match(ID) ?? [])];
  return ids.reduce((out, id, i) => out.replaceAll(id, `#${i + 1}`), text);
}

/** The trade lines of a run's stdout (as the demo and the backtest both print them, by format.ts's eventLine). */
function tradeLines(stdout: string): string[] {
  return numberedIds(stdout)
    .split("\n")
    .filter((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d {2}(SCHEDULED|OPENED|CLOSED|CANCELLED) /.test(line));
}

/** A CSV of candles (ms timestamps). */
function csv(candles: readonly Candle[]): string {
  return `timestamp,open,high,low,close,volume\n${candles.map((c) => `${c.timestamp},${c.open},${c.high},${c.low},${c.close},${c.volume}`).join("\n")}\n`;
}

/** The bundled candles from `from` for `minutes`, prices x `factor` (and their spread kept), times shifted by `shiftMs`. */
function slice(from: string, minutes: number, factor = 1, shiftMs = 0): Candle[] {
  const start = Date.parse(from);
  return bundled
    .filter((c) => c.timestamp >= start && c.timestamp < start + minutes * MINUTE)
    .map((c) => ({
      timestamp: c.timestamp + shiftMs,
      open: +(c.open * factor).toFixed(2),
      high: +(c.high * factor).toFixed(2),
      low: +(c.low * factor).toFixed(2),
      close: +(c.close * factor).toFixed(2),
      volume: c.volume,
    }));
}

/**
 * The backtest of momentum from 2023-03-08T12:00Z for 4260 minutes, in a folder of its own (its
 * report in the default dump/backtest): compared with the demo below, and read again for what
 * a run without a terminal prints. One process for both; started by whichever test comes first.
 */
let momentumRun: { cwd: Promise<string>; exit: Promise<Exit> } | undefined;
function momentumBacktest(): { cwd: Promise<string>; exit: Promise<Exit> } {
  if (momentumRun === undefined) {
    const cwd = newDir("momentum");
    momentumRun = { cwd, exit: cwd.then((dir) => rxtrade(dir, ["backtest", "--strategy", "momentum", "--from", "2023-03-08T12:00Z", "--to", "2023-03-11T11:00Z"])) };
  }
  return momentumRun;
}

/** A trade of the --json output without its random id, and the statistics without their event rows' ids. */
const withoutIds = (value: unknown) => JSON.parse(JSON.stringify(value).replace(ID, "<id>")) as unknown;

describe("rxtrade backtest gives the trades of rxtrade demo on the same window", () => {
  // Each case: the demo with --from/--minutes, the backtest with --from/--to = --from + minutes.
  // Compared: the trade lines (time, action, position, prices, close reason, PnL) and the whole
  // Markdown report (every event with its ISO time to the ms, prices to 8 decimals, reasons).
  it.each([
    // A short opened at 10:37 is open at the stop (11:00) and closes at 11:37, after it.
    ["momentum", "2023-03-08T12:00Z", 4260],
    // Limit entries: SCHEDULED, then OPENED or CANCELLED.
    ["breakout", "2023-03-05T07:30Z", 2880],
    // An async strategy that takes real time (a timer of 0 to 3 ms) on every answer.
    ["slowMomentum", "2023-03-05T07:30Z", 1440],
  ] as const)("%s from %s for %i minutes", async (name, from, minutes) => {
    const strategy = name === "slowMomentum" ? fixture("backtestSlowMomentum.mjs") : name;
    const to = new Date(Date.parse(from) + minutes * MINUTE).toISOString();
    const shared = name === "momentum" ? momentumBacktest() : undefined;
    const cwd = await (shared?.cwd ?? newDir(name));
    const [demo, backtest] = await Promise.all([
      rxtrade(cwd, ["demo", "--speed", "100000", "--strategy", strategy, "--from", from, "--minutes", String(minutes), "--store", "store", "--report-dir", "demo"]),
      shared === undefined ? rxtrade(cwd, ["backtest", "--strategy", strategy, "--from", from, "--to", to]) : shared.exit,
    ]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(backtest.code, backtest.stderr).toBe(0);
    const trades = tradeLines(backtest.stdout);
    expect(trades.length).toBeGreaterThanOrEqual(4);
    expect(trades).toEqual(tradeLines(demo.stdout));
    const report = (dir: string) => readFile(join(cwd, dir, `BTCUSDT_${name === "slowMomentum" ? "slow-momentum" : name}.md`), "utf8");
    expect(numberedIds(await report(join("dump", "backtest")))).toBe(numberedIds(await report("demo")));
    if (name === "momentum") {
      // The graceful stop at --to with a signal open: it ran to its close on the candles after --to.
      expect(backtest.stdout).toMatch(/^2023-03-11 11:00 {2}--to reached: graceful stop, no new signals; signal \S+ \(short @ 20072\.86\) runs to its close$/m);
      expect(trades.at(-1)).toMatch(/^2023-03-11 11:37 {2}CLOSED {5}short @ 20040\.22 {2}time_expired/);
      expect(backtest.stdout).toContain("Stopped gracefully: --to 2023-03-11 11:00 reached; the signal open then closed at 2023-03-11 11:37, on the candles after --to.");
    }
    if (name === "breakout") expect(trades.some((line) => line.includes("CANCELLED"))).toBe(true);
  }, 30_000);
});

describe("rxtrade backtest --data <folder>", () => {
  it("runs one symbol per file on worker threads, with the results each file gives alone (in this process's thread) and in one thread", async () => {
    const cwd = await newDir("folder");
    await mkdir(join(cwd, "data"));
    // Shifted copies of one day of the bundled data: prices x1, x1.01, and a day later in time.
    await writeFile(join(cwd, "data", "AAAUSDT.csv"), csv(slice("2023-03-09T00:00Z", 1440)));
    await writeFile(join(cwd, "data", "BBBUSDT_1m.csv"), csv(slice("2023-03-09T00:00Z", 1440, 1.01)));
    await writeFile(join(cwd, "data", "CCCUSDT.csv"), csv(slice("2023-03-10T00:00Z", 1440, 1, 86_400_000)));
    await writeFile(join(cwd, "data", "notes.txt"), "not candles: skipped\n");
    const args = ["backtest", "--strategy", "momentum", "--json"];
    const [parallel, sequential] = await Promise.all([
      rxtrade(cwd, [...args, "--data", "data", "--report-dir", "parallel"]),
      rxtrade(cwd, [...args, "--data", "data", "--threads", "1", "--report-dir", "sequential"]),
    ]);
    // Each file alone, one after another, through main in this process (no worker thread).
    const alone: Exit[] = [];
    for (const file of ["AAAUSDT.csv", "BBBUSDT_1m.csv", "CCCUSDT.csv"]) alone.push(await inProcess([...args, "--data", join(cwd, "data", file), "--report-dir", join(cwd, "alone")]));
    for (const exit of [parallel, sequential, ...alone]) expect(exit.code, exit.stderr).toBe(0);
    type Out = { threads: number; results: Array<{ symbol: string; trades: unknown[]; stats: { totalClosed: number } }>; failures: unknown[]; combined: { totalClosed: number } };
    const folder = JSON.parse(parallel.stdout) as Out;
    const oneThread = JSON.parse(sequential.stdout) as Out;
    const single = alone.map((exit) => JSON.parse(exit.stdout) as Out["results"][number]);
    expect(folder.threads).toBe(2);
    expect(oneThread.threads).toBe(1);
    expect(folder.results.map((r) => r.symbol)).toEqual(["AAAUSDT", "BBBUSDT", "CCCUSDT"]);
    expect(folder.failures).toEqual([]);
    const essentials = (r: { symbol: string; trades: unknown[]; stats: unknown }) => withoutIds({ symbol: r.symbol, trades: r.trades, stats: r.stats });
    expect(folder.results.map(essentials)).toEqual(single.map(essentials));
    expect(oneThread.results.map(essentials)).toEqual(single.map(essentials));
    for (const r of single) expect(r.stats.totalClosed).toBeGreaterThan(0);
    expect(folder.combined.totalClosed).toBe(single.reduce((sum, r) => sum + r.stats.totalClosed, 0));
    // A time-shifted copy is another market: its own trades.
    expect(withoutIds(single[2]?.trades)).not.toEqual(withoutIds(single[0]?.trades));
  }, 30_000);

  it("reports a worker that crashes and a file that is not candles, each with its file; the others finish; exit 1", async () => {
    const cwd = await newDir("crash");
    await mkdir(join(cwd, "data"));
    await writeFile(join(cwd, "data", "AAAUSDT.csv"), csv(slice("2023-03-09T00:00Z", 600)));
    await writeFile(join(cwd, "data", "CRASHUSDT.csv"), csv(slice("2023-03-09T00:00Z", 600)));
    await writeFile(join(cwd, "data", "ZZZUSDT.csv"), csv(slice("2023-03-09T00:00Z", 600)));
    await writeFile(join(cwd, "data", "BADUSDT.csv"), "timestamp,open,high,low,close,volume\n1678320000000,1,1,1,oops,1\n");
    const exit = await rxtrade(cwd, ["backtest", "--strategy", fixture("backtestCrashStrategy.mjs"), "--data", "data"]);
    expect(exit.code).toBe(1);
    expect(exit.stdout).toMatch(/^AAAUSDT +0 +0 +0 +n\/a +0\.00 % +n\/a +stopped +AAAUSDT\.csv$/m);
    expect(exit.stdout).toMatch(/^ZZZUSDT +0 +0 +0 +n\/a .* +ZZZUSDT\.csv$/m);
    expect(exit.stdout).toMatch(/^CRASHUSDT +- .* CRASHED +CRASHUSDT\.csv$/m);
    expect(exit.stdout).toMatch(/^BADUSDT +- .* FAILED +BADUSDT\.csv$/m);
    expect(exit.stderr).toContain(`rxtrade backtest: ${join(cwd, "data", "CRASHUSDT.csv")} failed: the worker crashed: Error: boom in CRASHUSDT`);
    expect(exit.stderr).toContain(`rxtrade backtest: ${join(cwd, "data", "BADUSDT.csv")} failed: ${join(cwd, "data", "BADUSDT.csv")}:2: close "oops" is not a finite number`);
    expect(exit.stderr).toContain("2 of 4 files failed; the results above are the others'.");
    // The others' reports were written.
    expect(await readFile(join(cwd, "dump", "backtest", "AAAUSDT_crashy.md"), "utf8")).toContain("# Live Trading Report: crashy");
  }, 30_000);
});

describe("rxtrade backtest's end", () => {
  it("says when the data end before the open signal closes: it stays open, outside the statistics (and --json says so)", async () => {
    const cwd = await newDir("data-end");
    // 120 flat minutes; a long every time nothing is open, each for 60 minutes.
    const start = Date.parse("2023-03-09T00:00Z");
    const flat = Array.from({ length: 120 }, (_, i) => ({ timestamp: start + i * MINUTE, open: 100, high: 100, low: 100, close: 100, volume: 1 }));
    await writeFile(join(cwd, "FLATUSDT.csv"), csv(flat));
    const args = ["backtest", "--strategy", fixture("backtestAlwaysLong.mjs"), "--data", "FLATUSDT.csv", "--from", "2023-03-09T00:10Z", "--to", "2023-03-09T01:30Z"];
    const [text, json] = await Promise.all([rxtrade(cwd, args), rxtrade(cwd, [...args, "--json"])]);
    expect(text.code, text.stderr).toBe(0);
    expect(tradeLines(text.stdout)).toEqual([
      "2023-03-09 00:10  OPENED     long  @ 100.00  TP 110.00  SL 90.0000  #1",
      "2023-03-09 01:10  CLOSED     long  @ 100.00  time_expired  -0.40 %  #1",
      "2023-03-09 01:11  OPENED     long  @ 100.00  TP 110.00  SL 90.0000  #2",
    ]);
    expect(numberedIds(text.stdout)).toContain("2023-03-09 01:30  --to reached: graceful stop, no new signals; signal #2 (long @ 100.00) runs to its close");
    expect(numberedIds(text.stdout)).toContain(
      "The data end at 2023-03-09 01:59 (their last candle) while signal #2 (long @ 100.00) is still open: it stays so, and is not counted in the statistics; at the last price, 100.00, it stands at -0.40 % after costs. Give data that go further after --to for it to close.",
    );
    expect(text.stdout).toContain("  closed signals   1 (0 won, 1 lost, win rate 0.0 %)");
    const result = JSON.parse(json.stdout) as { end: string; open: { action: string; signal: { pendingAt: number } }; stats: { totalClosed: number }; lastTick: number };
    expect(result).toMatchObject({ end: "data-ended", open: { action: "active", signal: { pendingAt: Date.parse("2023-03-09T01:11:00.061Z") } }, stats: { totalClosed: 1 } });
    // The last tick the data can price: the newest closed minute, 01:59, is their last candle.
    expect(result.lastTick).toBe(Date.parse("2023-03-09T02:00:00.110Z"));
  }, 30_000);
});

describe("rxtrade backtest --exchange", () => {
  it("fetches the window's candles through rxtrade/ccxt (a canned binance, no network) and gives what the same candles in a CSV give", async () => {
    const cwd = await newDir("ccxt");
    // What the fetch asks for: a day before --from to 26 hours after --to.
    const candles = slice("2023-03-07T12:00Z", 3 * 1440 + 120);
    await writeFile(join(cwd, "BTCUSDT.csv"), csv(candles));
    const window = ["--from", "2023-03-08T12:00Z", "--to", "2023-03-09T12:00Z"];
    const [fetched, fromCsv] = await Promise.all([
      rxtrade(cwd, ["backtest", "--strategy", "momentum", "--exchange", fixture("backtestCannedBinance.mjs"), "--symbol", "BTCUSDT", ...window, "--json"], {
        RXTRADE_CANNED_CSV: join(cwd, "BTCUSDT.csv"),
      }),
      rxtrade(cwd, ["backtest", "--strategy", "momentum", "--data", "BTCUSDT.csv", ...window, "--json"]),
    ]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    // Pages of at most 1000 one-minute candles, from a day before --from to 26 hours after --to.
    expect(fetched.stderr.split("\n").filter((line) => line.startsWith("canned klines"))).toEqual([
      "canned klines from 2023-03-07T12:00:00.000Z limit 1000",
      "canned klines from 2023-03-08T04:40:00.000Z limit 1000",
      "canned klines from 2023-03-08T21:20:00.000Z limit 1000",
      "canned klines from 2023-03-09T14:00:00.000Z limit 1000",
      "canned klines from 2023-03-10T06:40:00.000Z limit 440",
    ]);
    type Out = { trades: unknown[]; stats: { totalClosed: number }; candles: number };
    const a = JSON.parse(fetched.stdout) as Out;
    const b = JSON.parse(fromCsv.stdout) as Out;
    expect(a.stats.totalClosed).toBe(2);
    expect(withoutIds({ trades: a.trades, stats: a.stats, candles: a.candles })).toEqual(withoutIds({ trades: b.trades, stats: b.stats, candles: b.candles }));
  }, 30_000);
});

describe("rxtrade backtest without a terminal", () => {
  it("draws no progress bar: stderr stays empty, stdout has whole lines only", async () => {
    // Momentum over three days (the run compared with the demo above; stdout and stderr piped).
    const exit = await momentumBacktest().exit;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toBe("");
    expect(exit.stdout).not.toMatch(/\r|\x1b/);
    expect(exit.stdout).toContain("Statistics of the backtest");
    expect(exit.stdout).toContain("Report: dump/backtest/BTCUSDT_momentum.md");
  }, 30_000);
});
